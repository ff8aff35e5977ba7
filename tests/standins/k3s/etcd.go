package main

// The datastore: etcd embedded in the server process (k3s's --cluster-init mode; its default is kine with
// SQLite, which needs cgo). Clients and peers listen on loopback ports picked at start.

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func freeLoopbackPort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// startEtcd starts a one-member etcd with its data in DIR; returns its client URL.
func startEtcd(ctx context.Context, dir string, extra []string) (string, error) {
	clientPort, err := freeLoopbackPort()
	if err != nil {
		return "", err
	}
	peerPort, err := freeLoopbackPort()
	if err != nil {
		return "", err
	}
	cfg := embed.NewConfig()
	cfg.Name = "k3s-standin"
	cfg.Dir = dir
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	clientURL, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	peerURL, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*clientURL}, []url.URL{*clientURL}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peerURL}, []url.URL{*peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ListenMetricsUrls = nil
	for _, arg := range extra {
		key, value, _ := strings.Cut(arg, "=")
		switch key {
		case "unsafe-no-fsync":
			cfg.UnsafeNoFsync = value == "true"
		case "quota-backend-bytes":
			fmt.Sscan(value, &cfg.QuotaBackendBytes)
		default:
			return "", configErrorf("etcd-arg %q is not in the k3s stand-in (it has unsafe-no-fsync, quota-backend-bytes)", arg)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	server, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", fmt.Errorf("etcd: %w", err)
	}
	select {
	case <-server.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		server.Close()
		return "", fmt.Errorf("etcd did not become ready within 60 s")
	case err := <-server.Err():
		return "", fmt.Errorf("etcd: %w", err)
	}
	go func() {
		<-ctx.Done()
		server.Close()
	}()
	return clientURL.String(), nil
}

// runEtcdCommand: `k3s etcd --data-dir DIR` runs the embedded etcd alone and prints its client URL.
func runEtcdCommand(args []string) int {
	flags := flag.NewFlagSet("etcd", flag.ContinueOnError)
	dir := flags.String("data-dir", filepath.Join(os.TempDir(), "k3s-standin-etcd"), "data directory")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	endpoint, err := startEtcd(ctx, *dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(endpoint)
	<-ctx.Done()
	return 0
}
