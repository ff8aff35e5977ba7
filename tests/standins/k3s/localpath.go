package main

// Volumes of the local-path StorageClass: STAND-IN for rancher's local-path-provisioner (the one k3s
// deploys), which the Go module proxy does not serve here. Like it, the server watches claims that the
// PV controller hands to provisioner rancher.io/local-path once the scheduler picked a node
// (WaitForFirstConsumer), and makes a hostPath volume in <storage>/pvc-<uid>_<namespace>_<claim> with node
// affinity to that node; the kubelet creates the directory (DirectoryOrCreate). A released volume with
// reclaim policy Delete is deleted, and each node removes the directories that no volume names any more
// (the real provisioner runs a helper pod for that).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

const (
	localPathProvisioner = "rancher.io/local-path"
	defaultStoragePath   = "/var/lib/rancher/k3s/storage"
)

var volumeDirPattern = regexp.MustCompile(`^pvc-[0-9a-f-]+_[a-z0-9-]+_[a-z0-9.-]+$`)

type localPath struct {
	client  kubernetes.Interface
	storage string
}

func runLocalPathProvisioner(ctx context.Context, config *rest.Config, storage string) {
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		logf("local-path: %v", err)
		return
	}
	p := &localPath{client: client, storage: storage}
	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	claims := factory.Core().V1().PersistentVolumeClaims().Informer()
	volumes := factory.Core().V1().PersistentVolumes().Informer()
	work := make(chan interface{}, 1024)
	enqueue := func(obj interface{}) {
		select {
		case work <- obj:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
	}
	_, _ = claims.AddEventHandler(handler)
	_, _ = volumes.AddEventHandler(handler)
	factory.Start(ctx.Done())
	for {
		select {
		case <-ctx.Done():
			return
		case obj := <-work:
			var err error
			switch o := obj.(type) {
			case *corev1.PersistentVolumeClaim:
				err = p.provision(ctx, o)
			case *corev1.PersistentVolume:
				err = p.reclaim(ctx, o)
			}
			if err != nil {
				logf("local-path: %v", err)
				go func() { time.Sleep(2 * time.Second); enqueue(obj) }()
			}
		}
	}
}

func (p *localPath) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	node := claim.Annotations["volume.kubernetes.io/selected-node"]
	if claim.Status.Phase != corev1.ClaimPending || claim.Spec.VolumeName != "" || node == "" ||
		claim.Annotations["volume.kubernetes.io/storage-provisioner"] != localPathProvisioner {
		return nil
	}
	if claim.Spec.StorageClassName == nil {
		return nil
	}
	class, err := p.client.StorageV1().StorageClasses().Get(ctx, *claim.Spec.StorageClassName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if class.Provisioner != localPathProvisioner {
		return nil
	}
	name := "pvc-" + string(claim.UID)
	if _, err := p.client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{}); err == nil {
		return nil
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	directory := corev1.HostPathDirectoryOrCreate
	filesystem := corev1.PersistentVolumeFilesystem
	volume := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				"pv.kubernetes.io/provisioned-by":      localPathProvisioner,
				"local.path.provisioner/selected-node": node,
			},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: claim.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   claim.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			VolumeMode:                    &filesystem,
			ClaimRef: &corev1.ObjectReference{
				APIVersion: "v1", Kind: "PersistentVolumeClaim",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID, ResourceVersion: claim.ResourceVersion,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: filepath.Join(p.storage, fmt.Sprintf("%s_%s_%s", name, claim.Namespace, claim.Name)),
				Type: &directory,
			}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{node},
				}}}},
			}},
		},
	}
	if _, err := p.client.CoreV1().PersistentVolumes().Create(ctx, volume, metav1.CreateOptions{FieldManager: "local-path-standin"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	logf("local-path: volume %s for %s/%s on node %s", name, claim.Namespace, claim.Name, node)
	return nil
}

func (p *localPath) reclaim(ctx context.Context, volume *corev1.PersistentVolume) error {
	if volume.Annotations["pv.kubernetes.io/provisioned-by"] != localPathProvisioner ||
		volume.Status.Phase != corev1.VolumeReleased ||
		volume.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		return nil
	}
	err := p.client.CoreV1().PersistentVolumes().Delete(ctx, volume.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	logf("local-path: deleted released volume %s", volume.Name)
	return nil
}

// runLocalPathSweeper removes, on this node, the volume directories that no PersistentVolume names.
func runLocalPathSweeper(ctx context.Context, client kubernetes.Interface, node string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
		entries, err := os.ReadDir(defaultStoragePath)
		if err != nil || len(entries) == 0 {
			continue
		}
		volumes, err := client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if err != nil {
			logf("local-path: %v", err)
			continue
		}
		inUse := map[string]bool{}
		for _, volume := range volumes.Items {
			if volume.Spec.HostPath != nil {
				inUse[volume.Spec.HostPath.Path] = true
			}
		}
		for _, entry := range entries {
			path := filepath.Join(defaultStoragePath, entry.Name())
			if !entry.IsDir() || !volumeDirPattern.MatchString(entry.Name()) || inUse[path] {
				continue
			}
			if err := os.RemoveAll(path); err != nil {
				logf("local-path: removing %s: %v", path, err)
				continue
			}
			logf("local-path: removed %s on %s (its volume is gone)", path, node)
		}
	}
}
