"""A private network of Linux network namespaces: one bridge in the test's own
namespace (the services' address) and one namespace per farm host, each joined to
the bridge by a veth pair, all on a /24 of this run's own."""

from __future__ import annotations

import ipaddress
import os
import random
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field

# Where a run picks its subnet: 10.200.0.0/16 – 10.250.255.0/24, one free of every route.
SUBNET_FIRST_OCTETS = range(200, 251)
# The commands the tier runs, and the Debian package of each.
TOOLS = {"ip": "iproute2", "unshare": "util-linux", "mount": "mount"}


class NetworkError(RuntimeError):
    """An `ip` command failed while building or changing the private network."""


def ip(*args: str) -> str:
    """Run `ip ARGS`; its stdout, or NetworkError with its stderr."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def why_namespaces_cannot_be_made() -> str | None:
    """None when this process can make network namespaces and veth pairs, else why not
    (for a skip): not root, no `ip` or `unshare`, or the kernel refuses."""
    if os.geteuid() != 0:
        return "the multi-host tier makes network namespaces: run it as root"
    for tool, package in TOOLS.items():
        if shutil.which(tool) is None:
            return f"the multi-host tier needs `{tool}` (from {package})"
    probe = f"jfprobe{uuid.uuid4().hex[:6]}"
    try:
        ip("netns", "add", probe)
        ip("-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1")
    except NetworkError as exc:
        return f"network namespaces cannot be made here: {exc}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)
    return None


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.200–250.x that no route of this machine covers or overlaps."""
    taken = [
        ipaddress.ip_network(line.split()[0], strict=False)
        for line in ip("-4", "route", "show", "table", "all").splitlines()
        if line and line.split()[0][0].isdigit()
    ]
    for _ in range(200):
        first, second = random.choice(SUBNET_FIRST_OCTETS), random.randrange(256)
        subnet = ipaddress.IPv4Network(f"10.{first}.{second}.0/24")
        if not any(subnet.overlaps(route) for route in taken):
            return subnet
    raise NetworkError("no free /24 in 10.200.0.0-10.250.255.0")


@dataclass
class Namespace:
    """One host's network namespace: its name, its address, and the bridge-side end of
    its veth pair (the host's cable)."""

    name: str
    address: str
    cable: str

    def exec_prefix(self) -> list[str]:
        """The argv prefix that runs a command inside this namespace."""
        return ["ip", "netns", "exec", self.name]


@dataclass
class PrivateNetwork:
    """A bridge holding the subnet's first address, plus one namespace per host.

    Every name carries this run's tag, so runs side by side never collide, and
    `destroy()` removes everything made, whatever state it was left in.
    """

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    subnet: ipaddress.IPv4Network = field(default_factory=free_subnet)
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    bridge_up: bool = False
    cut_hosts: set[str] = field(default_factory=set)

    @property
    def bridge(self) -> str:
        return f"jfbr{self.tag}"

    @property
    def services_address(self) -> str:
        """The address of the test's own namespace on the subnet: where services listen."""
        return str(self.subnet.network_address + 1)

    def create_bridge(self) -> None:
        ip("link", "add", self.bridge, "type", "bridge")
        self.bridge_up = True
        ip("addr", "add", f"{self.services_address}/{self.subnet.prefixlen}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add_host(self, host: str) -> Namespace:
        """A namespace for `host` with the subnet's next address, its loopback up and its
        veth joined to the bridge."""
        index = len(self.namespaces) + 1
        space = Namespace(
            name=f"jf{self.tag}{host}",
            address=str(self.subnet.network_address + 1 + index),
            cable=f"jf{self.tag}v{index}",
        )
        ip("netns", "add", space.name)
        self.namespaces[host] = space
        ip("link", "add", space.cable, "type", "veth", "peer", "name", "eth0", "netns", space.name)
        ip("link", "set", space.cable, "master", self.bridge)
        ip("link", "set", space.cable, "up")
        inside = ("-n", space.name)
        ip(*inside, "addr", "add", f"{space.address}/{self.subnet.prefixlen}", "dev", "eth0")
        ip(*inside, "link", "set", "eth0", "up")
        ip(*inside, "link", "set", "lo", "up")
        return space

    def cut(self, host: str) -> None:
        """Pull `host`'s cable: its end of the veth loses carrier, so every packet it
        sends is dropped while its processes keep running, as when a host drops off the
        network; connections it holds hang rather than close."""
        ip("link", "set", self.namespaces[host].cable, "down")
        self.cut_hosts.add(host)

    def is_cut(self, host: str) -> bool:
        return host in self.cut_hosts

    def destroy(self) -> None:
        """Delete every namespace (which deletes its veth pair) and the bridge."""
        for space in self.namespaces.values():
            subprocess.run(["ip", "netns", "del", space.name], capture_output=True, timeout=30)
            subprocess.run(["ip", "link", "del", space.cable], capture_output=True, timeout=30)
        self.namespaces.clear()
        if self.bridge_up:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, timeout=30)
            self.bridge_up = False
