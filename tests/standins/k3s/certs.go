package main

// The cluster's certificates, made at the server's first start and kept (as k3s keeps its bootstrap data).
// One CA signs the API server's serving certificate and every client certificate (kubeadm's layout;
// k3s keeps separate server and client CAs, a difference nothing in the collection can see). The agent
// join token names the CA by the sha256 of its PEM, as k3s's K10 tokens do.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const certValidity = 10 * 365 * 24 * time.Hour

type authority struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp%d", path, os.Getpid())
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeIfChanged writes DATA unless PATH already holds it; true when written.
func writeIfChanged(path string, data []byte, mode os.FileMode) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return false, os.Chmod(path, mode)
	}
	return true, writeFileAtomic(path, data, mode)
}

func newKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func parseKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM key")
	}
	if key, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return key, nil
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("not a signing key")
	}
	return signer, nil
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// loadOrCreateCA returns the CA kept in DIR (ca.crt, ca.key), made on first use.
func loadOrCreateCA(dir, commonName string) (*authority, error) {
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	if certErr == nil && keyErr == nil {
		cert, err := parseCertPEM(certPEM)
		if err != nil {
			return nil, err
		}
		key, err := parseKeyPEM(keyPEM)
		if err != nil {
			return nil, err
		}
		return &authority{cert, key, certPEM}, nil
	}
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", commonName, time.Now().Unix())},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	return &authority{cert, key, certPEM}, nil
}

type leafSpec struct {
	commonName   string
	organization []string
	dnsNames     []string
	ips          []net.IP
	server       bool
}

// issue writes NAME.crt (the leaf, then the CA: a chain) and NAME.key in DIR, keeping existing ones
// whose names and addresses still match SPEC.
func (ca *authority) issue(dir, name string, spec leafSpec) (certPath, keyPath string, err error) {
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if data, err := os.ReadFile(certPath); err == nil {
		if cert, err := parseCertPEM(data); err == nil && leafMatches(cert, spec) && ca.signed(cert) {
			if _, err := os.Stat(keyPath); err == nil {
				return certPath, keyPath, nil
			}
		}
	}
	key, keyPEM, err := newKey()
	if err != nil {
		return "", "", err
	}
	usage := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if spec.server {
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	template := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: spec.commonName, Organization: spec.organization},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  usage,
		DNSNames:     spec.dnsNames,
		IPAddresses:  spec.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, key.Public(), ca.key)
	if err != nil {
		return "", "", err
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.certPEM...)
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	return certPath, keyPath, writeFileAtomic(certPath, chain, 0o644)
}

func (ca *authority) signed(cert *x509.Certificate) bool {
	return cert.CheckSignatureFrom(ca.cert) == nil
}

func leafMatches(cert *x509.Certificate, spec leafSpec) bool {
	if cert.Subject.CommonName != spec.commonName || strings.Join(cert.Subject.Organization, ",") != strings.Join(spec.organization, ",") {
		return false
	}
	have := map[string]bool{}
	for _, name := range cert.DNSNames {
		have[name] = true
	}
	for _, ip := range cert.IPAddresses {
		have[ip.String()] = true
	}
	for _, name := range spec.dnsNames {
		if !have[name] {
			return false
		}
	}
	for _, ip := range spec.ips {
		if !have[ip.String()] {
			return false
		}
	}
	return time.Until(cert.NotAfter) > 30*24*time.Hour
}

func caHash(caPEM []byte) string {
	sum := sha256.Sum256(caPEM)
	return hex.EncodeToString(sum[:])
}

// fullToken is the K10 form k3s writes to node-token: K10<sha256 of the CA bundle>::server:<password>.
func fullToken(caPEM []byte, password string) string {
	return fmt.Sprintf("K10%s::server:%s", caHash(caPEM), password)
}

// splitToken returns the CA hash (empty for a bare password) and the password of a token.
func splitToken(token string) (hash, password string) {
	token = strings.TrimSpace(token)
	if strings.HasPrefix(token, "K10") && strings.Contains(token, "::") {
		parts := strings.SplitN(token, "::", 2)
		credentials := parts[1]
		if colon := strings.Index(credentials, ":"); colon >= 0 {
			credentials = credentials[colon+1:]
		}
		return parts[0][3:], credentials
	}
	return "", token
}
