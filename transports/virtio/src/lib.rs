//! no_std virtio-fs transport: split virtqueues, virtio-fs device, virtio-mmio.
