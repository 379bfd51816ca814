// esxisim: an ESXi / vCenter simulator for fleetpatch.esxi tests, built on govmomi 0.24.2's vcsim
// library. It adds HostPatchManager, HostImageConfigManager, esxcli over
// ReflectManagedMethodExecuter.ExecuteSoap, reboot/maintenance behaviour, fault switches and a
// control API. Every modelled behaviour is marked OBSERVED (with source) or ASSUMED in the code and
// listed in docs/simulator.md.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
)

type config struct {
	ESX             bool
	User, Password  string
	RebootDown      time.Duration
	TaskDelay       time.Duration
	DownloadTimeout time.Duration
	EnforceFirewall bool
	Root, ImagesDir string
	Verbose         bool
	SwPlatformCheck bool
}

var cfg = &config{SwPlatformCheck: true}

func logf(format string, a ...interface{}) {
	if cfg.Verbose {
		log.Printf(format, a...)
	}
}

func main() {
	addr := flag.String("l", "127.0.0.1:0", "listen address (host:port; port 0 picks a free port)")
	mode := flag.String("mode", "esx", "esx (standalone ESXi) or vc (vCenter)")
	esxFlag := flag.Bool("esx", false, "shorthand for -mode esx")
	topo := flag.String("topology", "", "topology JSON file")
	cert := flag.String("cert", "", "TLS certificate (PEM); without -cert/-key vcsim's built-in test certificate is used")
	key := flag.String("key", "", "TLS private key (PEM)")
	flag.StringVar(&cfg.User, "user", "root", "login user name")
	flag.StringVar(&cfg.Password, "password", "Sim-Passw0rd!", "login password")
	flag.DurationVar(&cfg.RebootDown, "reboot-down", 2*time.Second, "how long a rebooting host is down")
	flag.DurationVar(&cfg.TaskDelay, "task-delay", 0, "delay of patch tasks (they run asynchronously when > 0)")
	flag.DurationVar(&cfg.DownloadTimeout, "download-timeout", 20*time.Second, "host-side HTTP download timeout")
	flag.BoolVar(&cfg.EnforceFirewall, "enforce-firewall", true, "host downloads fail while the httpClient firewall ruleset is disabled")
	flag.StringVar(&cfg.Root, "root", ".", "repository root (relative esximg paths)")
	flag.StringVar(&cfg.ImagesDir, "images", "", "image directory (default <root>/sim/images)")
	flag.BoolVar(&cfg.SwPlatformCheck, "swplatform-check", true, "check software platforms on 7.0+ images (ASSUMED rules; 6.x images are never checked, as esximage 6.5/6.7)")
	flag.BoolVar(&cfg.Verbose, "v", false, "log to stderr")
	flag.Parse()

	cfg.ESX = *esxFlag || *mode == "esx"
	if *mode != "esx" && *mode != "vc" {
		log.Fatalf("-mode must be esx or vc")
	}
	if abs, err := filepath.Abs(cfg.Root); err == nil {
		cfg.Root = abs
	}
	if cfg.ImagesDir == "" {
		cfg.ImagesDir = filepath.Join(cfg.Root, "sim", "images")
	}

	start := time.Now()
	t, err := loadTopology(*topo)
	if err != nil {
		log.Fatal(err)
	}
	model, err := buildInventory(t)
	if err != nil {
		removeTempDirs()
		log.Fatalf("building inventory: %v", err)
	}

	registerEventManagerExt()
	tlsCfg := new(tls.Config)
	if *cert != "" || *key != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			log.Fatalf("loading -cert/-key: %v", err)
		}
		tlsCfg.Certificates = []tls.Certificate{pair}
	}
	// OBSERVED (vcsim): credentials are enforced once Service.Listen.User is set; wrong ones give InvalidLogin
	model.Service.Listen = &url.URL{Host: *addr, User: url.UserPassword(cfg.User, cfg.Password)}
	model.Service.TLS = tlsCfg
	// vCenter mode: also the vAPI REST endpoints (tagging), on the same listener (vapi.go)
	model.Service.RegisterEndpoints = !cfg.ESX
	s := model.Service.NewServer()
	front.inner = newVapiGuard(s.Config.Handler)
	s.Config.Handler = front

	u := *s.URL
	u.User = nil
	ready, _ := json.Marshal(map[string]interface{}{
		"url": u.String(), "port": u.Port(), "mode": *mode, "hosts": len(hostOrder),
		"ready_ms": time.Since(start).Milliseconds(), "pid": os.Getpid(),
	})
	fmt.Printf("ESXISIM_READY %s\n", ready)
	os.Stdout.Sync()

	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
	s.Close()
	model.Remove()
	removeTempDirs()
	_ = simulator.Map
}
