#!/bin/bash
# Addresses of the test bed's guest NICs (testbed --net), for run-guest.sh,
# stage-guest.sh and the benchmarks.  Each guest has two point-to-point
# links to the test host, each on its own tap device and /24:
#   virtio-net (vhost-net):  tap vnetN, 169.254.(100+N).0/24
#   e1000 (QEMU, no vhost):  tap enetN, 169.254.(200+N).0/24
# The test host is .1, the guest .2.

# net_addr KIND GUEST SIDE: KIND virtio-net|e1000, SIDE host|guest
net_addr() {
	local base
	case "$1" in
	virtio-net) base=100 ;;
	e1000) base=200 ;;
	*) echo "net_addr: unknown NIC kind '$1'" >&2; return 1 ;;
	esac
	case "$3" in
	host) echo "169.254.$((base + $2)).1" ;;
	guest) echo "169.254.$((base + $2)).2" ;;
	*) echo "net_addr: side must be host or guest" >&2; return 1 ;;
	esac
}

# net_tap KIND GUEST: the tap device's name in the test host
net_tap() {
	case "$1" in
	virtio-net) echo "vnet$2" ;;
	e1000) echo "enet$2" ;;
	*) echo "net_tap: unknown NIC kind '$1'" >&2; return 1 ;;
	esac
}

# net_mac KIND GUEST: the guest NIC's MAC address (how the guest finds it)
net_mac() {
	case "$1" in
	virtio-net) printf '52:54:00:10:00:%02x\n' "$2" ;;
	e1000) printf '52:54:00:20:00:%02x\n' "$2" ;;
	*) echo "net_mac: unknown NIC kind '$1'" >&2; return 1 ;;
	esac
}
