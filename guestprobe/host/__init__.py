"""The KVM host's side of every disk (``guestprobe host``), and its join to a guest's report.

``collect`` reads a domain's XML (libvirt, read-only; a ``virsh dumpxml`` file) or a KubeVirt
VirtualMachineInstance; ``decode`` turns it into host facts; ``judge`` applies the host rules
(``checks/host/*.toml``); ``join`` matches a guest report's disks to the host's and lets the
guest's rules read the host facts (``host.*``).
"""
