"""
labnet: the lab's network, built only inside namespaces it creates (the host's own namespace,
interfaces, routes and sysctls are never touched). A hub namespace routes between one /24 link
per node (10.213.<i>.0/24: hub .1, node .2). "Internet" services live on 198.18.0.0/15
addresses; the victim prefix 198.18.1.0/24 exists both at the honest origin and at the
attacker, and `ip rule`s in the hub decide which perspectives reach which one.
"""
import subprocess

import labproc
from labproc import run

VICTIM_PREFIX = "198.18.1.0/24"
VICTIM_DNS = "198.18.1.53"         # authoritative server of the test zones
VICTIM_WEB = "198.18.1.80"         # HTTP-01 (80) and TLS-ALPN-01 (443) origin
ROOT_DNS = "198.18.0.1"            # lab root server
TLD_DNS = "198.18.0.2"             # lab "test." server
ATTACKER_WEB = "198.19.66.80"      # the attacker's own web server (DNS-level hijack target)
BLACKHOLE_DNS = "198.18.2.99"      # a name server that never answers
TABLE_ROUTE_HIJACK = 100           # victim prefix -> attacker
TABLE_DNS_HIJACK = 101             # victim DNS server only -> attacker
RULE_PREF_BASE = 1000              # hijack rule priority = base + link index
DELAY_PREF_BASE = 500              # emulated-distance rule priority (before the hijack rules)
DELAY_TABLE_BASE = 200             # emulated-distance table = base + link index

# Link index per infrastructure node; perspectives use 10 + their position.
INFRA = {"ca": 1, "dns": 2, "origin": 3, "attacker": 4}


def link_index(node, perspective_codes):
    if node in INFRA:
        return INFRA[node]
    return 10 + perspective_codes.index(node)


def node_ip(index):
    return f"10.213.{index}.2"


def subnet(index):
    return f"10.213.{index}.0/24"


class Net:
    """Namespaces named <prefix>-<node>; nodes: hub, ca, dns, origin, attacker, p<N>."""

    def __init__(self, prefix, perspective_codes):
        self.prefix = prefix
        self.codes = list(perspective_codes)

    def ns(self, node):
        if node in INFRA or node == "hub":
            return f"{self.prefix}-{node}"
        return f"{self.prefix}-p{self.codes.index(node) + 1}"

    def all_namespaces(self):
        return [self.ns("hub")] + [self.ns(n) for n in INFRA] + [self.ns(c) for c in self.codes]

    def ip(self, node):
        return node_ip(link_index(node, self.codes))

    def existing(self):
        rc, out = run(["ip", "netns", "list"], check=False)
        names = {line.split()[0] for line in out.splitlines() if line.strip()}
        return [n for n in self.all_namespaces() if n in names]

    # -- build / tear down
    def create(self):
        hub = self.ns("hub")
        run(["ip", "netns", "add", hub])
        run(["ip", "-n", hub, "link", "set", "lo", "up"])
        for key in ("ip_forward",):
            run(["ip", "netns", "exec", hub, "sysctl", "-qw", f"net.ipv4.{key}=1"])
        for conf in ("all", "default"):
            run(["ip", "netns", "exec", hub, "sysctl", "-qw",
                 f"net.ipv4.conf.{conf}.rp_filter=0"])
        for node in list(INFRA) + self.codes:
            self._add_node(node)
        # what the "internet" looks like from the hub
        self._hub_route(ROOT_DNS + "/32", "dns")
        self._hub_route(TLD_DNS + "/32", "dns")
        self._hub_route(VICTIM_PREFIX, "origin")
        self._hub_route("198.19.66.0/24", "attacker")
        run(["ip", "-n", hub, "route", "add", "blackhole", BLACKHOLE_DNS + "/32"])
        att = self.ip("attacker")
        run(["ip", "-n", hub, "route", "add", VICTIM_PREFIX, "via", att,
             "table", str(TABLE_ROUTE_HIJACK)])
        run(["ip", "-n", hub, "route", "add", VICTIM_DNS + "/32", "via", att,
             "table", str(TABLE_DNS_HIJACK)])
        # service addresses
        for node, addrs in (("dns", [ROOT_DNS, TLD_DNS]), ("origin", [VICTIM_DNS, VICTIM_WEB]),
                            ("attacker", [VICTIM_DNS, VICTIM_WEB, ATTACKER_WEB])):
            for a in addrs:
                run(["ip", "-n", self.ns(node), "addr", "add", a + "/32", "dev", "lo"])

    def _add_node(self, node):
        ns = self.ns(node)
        idx = link_index(node, self.codes)
        run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "link", "add", f"h{idx}", "netns", self.ns("hub"), "type", "veth",
             "peer", "name", "eth0", "netns", ns])
        run(["ip", "-n", self.ns("hub"), "addr", "add", f"10.213.{idx}.1/24", "dev", f"h{idx}"])
        run(["ip", "-n", self.ns("hub"), "link", "set", f"h{idx}", "up"])
        run(["ip", "-n", ns, "addr", "add", f"10.213.{idx}.2/24", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        run(["ip", "-n", ns, "route", "add", "default", "via", f"10.213.{idx}.1"])

    def _hub_route(self, prefix, node):
        run(["ip", "-n", self.ns("hub"), "route", "add", prefix, "via", self.ip(node)])

    def destroy(self):
        for ns in reversed(self.existing()):
            labproc.stop_namespace_pids(ns)
            run(["ip", "netns", "del", ns], check=False)

    # -- emulated distance (the TUN devices belong to labdelay.py, running in the hub)
    def delay_device(self, code):
        return f"d{link_index(code, self.codes)}"

    def route_delay_devices(self):
        hub = self.ns("hub")
        for code in self.codes:
            idx = link_index(code, self.codes)
            run(["ip", "-n", hub, "link", "set", self.delay_device(code), "up"])
            run(["ip", "-n", hub, "route", "add", "default", "dev", self.delay_device(code),
                 "table", str(DELAY_TABLE_BASE + idx)])

    def set_delayed(self, codes):
        """Exactly the perspectives in codes have their packets pass through their delay."""
        cmds = []
        for code in self.codes:
            idx = link_index(code, self.codes)
            cmds.append(f"rule del pref {DELAY_PREF_BASE + idx}")
            if code in codes:
                cmds.append(f"rule add iif h{idx} lookup {DELAY_TABLE_BASE + idx} "
                            f"pref {DELAY_PREF_BASE + idx}")
        self._hub_batch(cmds)

    def _hub_batch(self, cmds):
        """Runs ip commands in the hub in one process; a failing delete of an absent rule is
        expected, so errors are checked by reading the rules back where it matters."""
        subprocess.run(["ip", "-n", self.ns("hub"), "-force", "-batch", "-"],
                       input="\n".join(cmds) + "\n", capture_output=True, text=True,
                       timeout=30)

    # -- hijack
    def set_hijack(self, codes, kind):
        """Exactly the perspectives in codes see the attacker (kind "route" or "dns")."""
        if kind not in ("route", "dns"):
            raise labproc.LabError(f"hijack kind must be 'route' or 'dns', not {kind!r}")
        table = TABLE_ROUTE_HIJACK if kind == "route" else TABLE_DNS_HIJACK
        before = self.hijacked()
        wanted = {c: kind for c in codes}
        changed = [c for c in self.codes if before.get(c) != wanted.get(c)]
        cmds = []
        for code in changed:
            idx = link_index(code, self.codes)
            cmds.append(f"rule del pref {RULE_PREF_BASE + idx}")
            if code in codes:
                cmds.append(f"rule add from {subnet(idx)} lookup {table} "
                            f"pref {RULE_PREF_BASE + idx}")
        if cmds:
            self._hub_batch(cmds)
        now = self.hijacked()
        if now != wanted:
            raise labproc.LabError(f"hijack rules are {now}, wanted {wanted}")
        return changed

    def hijacked(self):
        """{code: "route"|"dns"} read back from the hub's rules."""
        rc, out = run(["ip", "-n", self.ns("hub"), "rule", "show"], check=False)
        found = {}
        for line in out.splitlines():
            for code in self.codes:
                if f"from {subnet(link_index(code, self.codes))} " in line + " ":
                    if f"lookup {TABLE_ROUTE_HIJACK}" in line:
                        found[code] = "route"
                    elif f"lookup {TABLE_DNS_HIJACK}" in line:
                        found[code] = "dns"
        return found
