{{/* Name of the chart's objects: the release name, prefixed with the chart name unless it contains it. */}}
{{- define "otelcol-fapilog.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Chart.Name .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "otelcol-fapilog.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end -}}

{{- define "otelcol-fapilog.labels" -}}
{{ include "otelcol-fapilog.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "otelcol-fapilog.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "otelcol-fapilog.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
GOMEMLIMIT from resources.limits.memory: gomemlimitPercent of it, in MiB. Accepts Kubernetes quantities with
binary (Ki, Mi, Gi, Ti) or decimal (K, M, G, T) suffixes, or plain bytes.
*/}}
{{- define "otelcol-fapilog.gomemlimit" -}}
{{- $quantity := toString .Values.resources.limits.memory -}}
{{- $multipliers := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "K" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- $bytes := 0 -}}
{{- range $suffix, $multiplier := $multipliers -}}
{{- if and (eq $bytes 0) (hasSuffix $suffix $quantity) (regexMatch "^[0-9]+$" (trimSuffix $suffix $quantity)) -}}
{{- $bytes = mul (int64 (trimSuffix $suffix $quantity)) $multiplier -}}
{{- end -}}
{{- end -}}
{{- if and (eq $bytes 0) (regexMatch "^[0-9]+$" $quantity) -}}
{{- $bytes = int64 $quantity -}}
{{- end -}}
{{- if eq $bytes 0 -}}
{{- fail (printf "resources.limits.memory %q: expected a quantity such as 512Mi or 1Gi" $quantity) -}}
{{- end -}}
{{- printf "%dMiB" (div (div (mul $bytes .Values.gomemlimitPercent) 100) 1048576) -}}
{{- end -}}

{{/* The pod template shared by the DaemonSet, the Deployment and the StatefulSet. */}}
{{- define "otelcol-fapilog.podTemplate" -}}
metadata:
  labels:
    {{- include "otelcol-fapilog.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # Roll the pods when the configuration changes.
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "otelcol-fapilog.serviceAccountName" . }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: otelcol-fapilog
      image: "{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command:
        - /{{ .Values.command.name }}
      args:
        - --config=/conf/relay.yaml
        {{- range .Values.featureGates }}
        - --feature-gates={{ . }}
        {{- end }}
        {{- range .Values.command.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      ports:
        {{- range $name, $port := merge (dict) .Values.ports .Values.extraPorts }}
        - name: {{ $name }}
          containerPort: {{ $port }}
          protocol: TCP
        {{- end }}
      env:
        - name: K8S_NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        - name: K8S_POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: K8S_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: MY_POD_IP
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        - name: GOMEMLIMIT
          value: {{ include "otelcol-fapilog.gomemlimit" . | quote }}
        {{- with .Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.envFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      livenessProbe:
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /conf
          readOnly: true
        {{- if eq .Values.mode "agent" }}
        - name: queue
          mountPath: /var/lib/otelcol-fapilog
        - name: pod-logs
          mountPath: /var/log/pods
          readOnly: true
        {{- else if .Values.persistence.enabled }}
        - name: data
          mountPath: {{ .Values.persistence.mountPath }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "otelcol-fapilog.fullname" . }}
        items:
          - key: relay.yaml
            path: relay.yaml
    {{- if eq .Values.mode "agent" }}
    - name: queue
      hostPath:
        path: {{ .Values.agent.queueHostPath }}/{{ .Release.Namespace }}-{{ include "otelcol-fapilog.fullname" . }}
        type: DirectoryOrCreate
    - name: pod-logs
      hostPath:
        path: {{ .Values.agent.podLogsHostPath }}
        type: Directory
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- tpl (toYaml .) $ | nindent 4 }}
  {{- end }}
{{- end -}}
