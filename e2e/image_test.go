package e2e

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// ImageArchiveEnv names the OCI archive `make image` wrote; unset, the test runs `make image` itself.
const ImageArchiveEnv = "FAPILOG_IMAGE_ARCHIVE"

// ociImage is an image read from an OCI archive: its config and its layers unpacked into one root filesystem.
type ociImage struct {
	Config struct {
		User         string              `json:"User"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
	} `json:"config"`
	rootfs string
}

func imageArchive(t *testing.T) string {
	t.Helper()
	if path := os.Getenv(ImageArchiveEnv); path != "" {
		if !filepath.IsAbs(path) {
			path = filepath.Join(repoRoot(), path)
		}
		return path
	}
	cmd := exec.Command("make", "image")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	return filepath.Join(repoRoot(), "_build", "otelcol-fapilog-image.tar")
}

// readOCIArchive unpacks the archive's only image into dir.
func readOCIArchive(t *testing.T, archive, dir string) *ociImage {
	t.Helper()
	blobs := filepath.Join(t.TempDir(), "archive")
	untar(t, archive, blobs, false)
	blob := func(digest string) string { return filepath.Join(blobs, "blobs", strings.Replace(digest, ":", "/", 1)) }
	var index struct {
		Manifests []struct{ Digest string } `json:"manifests"`
	}
	readJSON(t, filepath.Join(blobs, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("%d manifests in the archive, want 1", len(index.Manifests))
	}
	var manifest struct {
		Config struct{ Digest string } `json:"config"`
		Layers []struct {
			Digest    string `json:"digest"`
			MediaType string `json:"mediaType"`
		} `json:"layers"`
	}
	readJSON(t, blob(index.Manifests[0].Digest), &manifest)
	img := &ociImage{rootfs: dir}
	readJSON(t, blob(manifest.Config.Digest), img)
	for _, l := range manifest.Layers {
		untar(t, blob(l.Digest), dir, strings.HasSuffix(l.MediaType, "gzip"))
	}
	return img
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// untar extracts regular files and directories (what a scratch image holds), refusing paths outside dir.
func untar(t *testing.T, path, dir string, gzipped bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if gzipped {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, tr); err != nil {
				t.Fatal(err)
			}
			_ = out.Close()
		default:
			t.Fatalf("%s: unexpected entry type %c in a scratch image", h.Name, h.Typeflag)
		}
	}
}

// TestImage_ShippedConfigValidatesInsideTheImageAsItsUser unpacks the OCI archive `make image` built and runs
// the image's entrypoint with `validate` on its default configuration, chrooted into the image's root filesystem
// as the image's non-root user: the binary is static, the config is where CMD says, the ports and user are set.
func TestImage_ShippedConfigValidatesInsideTheImageAsItsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test chroots into the image's root filesystem and needs root (CI runs as root)")
	}
	rootfs := t.TempDir()
	if err := os.Chmod(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	img := readOCIArchive(t, imageArchive(t), rootfs)

	if img.Config.User != "10001:10001" {
		t.Errorf("user %q, want the non-root 10001:10001", img.Config.User)
	}
	for _, port := range []string{"4317/tcp", "4318/tcp", "13133/tcp"} {
		if _, ok := img.Config.ExposedPorts[port]; !ok {
			t.Errorf("port %s not exposed (%v)", port, img.Config.ExposedPorts)
		}
	}
	wantEntrypoint := []string{"/otelcol-fapilog", ComponentStatusGate}
	if !slices.Equal(img.Config.Entrypoint, wantEntrypoint) || !slices.Equal(img.Config.Cmd, []string{"--config=/etc/otelcol-fapilog/config.yaml"}) {
		t.Errorf("entrypoint %q cmd %q", img.Config.Entrypoint, img.Config.Cmd)
	}
	var files []string // read before /proc is mounted
	_ = filepath.WalkDir(rootfs, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(rootfs, path)
			files = append(files, "/"+rel)
		}
		return nil
	})
	slices.Sort(files)
	wantFiles := []string{"/etc/otelcol-fapilog/config.yaml", "/etc/ssl/certs/ca-certificates.crt", "/otelcol-fapilog"}
	if !slices.Equal(files, wantFiles) {
		t.Errorf("the image holds %q, want exactly %q", files, wantFiles)
	}
	if info, err := os.Stat(filepath.Join(rootfs, "etc/ssl/certs/ca-certificates.crt")); err != nil || info.Size() < 1000 {
		t.Errorf("no CA certificates in the image: %v", err)
	}

	// A container runtime mounts /proc (memory_limiter reads the cgroup's memory limit through it): so does the test.
	proc := filepath.Join(rootfs, "proc")
	if err := os.Mkdir(proc, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mount /proc in the image's root: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(proc, syscall.MNT_DETACH) })

	// The entrypoint as the image runs it, with validate in place of CMD: a dynamic binary would not even start.
	args := append(slices.Clone(img.Config.Entrypoint[1:]), "validate")
	args = append(args, img.Config.Cmd...)
	cmd := exec.Command(img.Config.Entrypoint[0], args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs, Credential: &syscall.Credential{Uid: 10001, Gid: 10001}}
	cmd.Dir = "/"
	cmd.Env = []string{}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("validate inside the image: %v\n%s", err, out)
	}
}
