#!/usr/bin/python3
"""Unit tests of the libvirt hook (libvirt/qemu-hook/virtsocket), run by
ctest: libvirt's calls are played with example domain XMLs, a fake
virtsocket-ctl (tests/libvirt/fake-virtsocket-ctl) records what the hook
asks of the host, and a sleeping process stands in for QEMU."""
import importlib.machinery
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HOOK = os.path.join(REPO, "libvirt", "qemu-hook", "virtsocket")
FAKE = os.path.join(HERE, "fake-virtsocket-ctl")
EXAMPLE = os.path.join(REPO, "vm-images", "libvirt-domain.xml")
NS = "https://virtsocket.dev/xmlns/libvirt/1"


def domain(meta=None, name="vm1"):
    """A domain XML; META: the inside of our element, or None for none."""
    ours = ""
    if meta is not None:
        ours = '<virtsocket:virtsocket xmlns:virtsocket="%s"%s' % (NS, meta)
    return """<domain type='kvm'>
  <name>%s</name>
  <metadata>
    <other:thing xmlns:other="https://example.org/other"><other:cid address="9"/></other:thing>
    %s
  </metadata>
  <memory unit='MiB'>256</memory>
  <os><type arch='x86_64'>hvm</type></os>
</domain>""" % (name, ours)


AUTO = domain(' enable="yes"><virtsocket:cid auto="yes"/></virtsocket:virtsocket>')
FIXED = domain(' enable="yes"><virtsocket:cid address="42"/></virtsocket:virtsocket>')
POLICY = domain(''' enable="yes"><virtsocket:cid auto="yes"/>
  <virtsocket:policy>
    <virtsocket:to-host><virtsocket:port number="1234"/><virtsocket:port first="5000" last="5010"/></virtsocket:to-host>
  </virtsocket:policy></virtsocket:virtsocket>''')


class Hook(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        t = self.tmp.name
        self.run_dir = os.path.join(t, "run-libvirt-qemu")
        os.mkdir(self.run_dir)
        self.log = os.path.join(t, "ctl.log")
        self.table = os.path.join(t, "table")
        self.env = dict(os.environ, VIRTSOCKET_CTL=FAKE, FAKE_CTL_LOG=self.log,
                        FAKE_CTL_TABLE=self.table, VIRTSOCKET_LIBVIRT_RUN=self.run_dir,
                        VIRTSOCKET_HOOK_STATE=os.path.join(t, "state"),
                        VIRTSOCKET_HOOK_ENABLER_WAIT="10", VIRTSOCKET_HOOK_STARTED_WAIT="0.3")
        self.env.pop("FAKE_CTL_POLICY", None)
        self.qemu = subprocess.Popen(["sleep", "300"])  # QEMU, as far as the hook knows

    def tearDown(self):
        self.qemu.kill()
        self.qemu.wait()
        self.tmp.cleanup()

    def hook(self, op, sub, xml, name="vm1", expect=0):
        p = subprocess.run([HOOK, name, op, sub, "-"], input=xml, env=self.env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, expect, "hook %s %s: exit %d, stderr: %s"
                         % (op, sub, p.returncode, p.stderr))
        # (Its standard output is the XML for migrate and restore: nothing.)
        self.assertEqual(p.stdout, "")
        return p.stderr

    def calls(self, verb=None):
        try:
            with open(self.log) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        return [c for c in lines if verb is None or c.split()[0] == verb]

    def entries(self):
        try:
            with open(self.table) as f:
                return dict(tuple(int(x) for x in line.split()) for line in f if line.strip())
        except FileNotFoundError:
            return {}

    def write_pid(self, name="vm1", pid=None):
        with open(os.path.join(self.run_dir, name + ".pid"), "w") as f:
            f.write("%d\n" % (pid or self.qemu.pid))

    def start(self, xml, name="vm1", wait=True):
        """libvirt's start: prepare, start, QEMU's pid file, started."""
        self.hook("prepare", "begin", xml, name)
        self.hook("start", "begin", xml, name)
        time.sleep(0.2)  # (libvirt launches QEMU after the hook)
        self.write_pid(name)
        deadline = time.monotonic() + 10
        while wait and self.qemu.pid not in self.entries() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.hook("started", "begin", xml, name)

    def test_auto_cid(self):
        self.start(AUTO)
        self.assertEqual(self.calls("enable"), ["enable --pid %d" % self.qemu.pid])
        self.assertEqual(self.entries(), {self.qemu.pid: 3})

    def test_enabled_before_started(self):
        # The background enabler of `start` enables QEMU as soon as its pid
        # file is there, before `started` (when libvirt has run the vCPUs).
        self.hook("start", "begin", AUTO)
        self.write_pid()
        deadline = time.monotonic() + 10
        while self.qemu.pid not in self.entries():
            self.assertLess(time.monotonic(), deadline, "the enabler did not enable QEMU")
            time.sleep(0.05)
        self.hook("started", "begin", AUTO)
        self.assertEqual(len(self.calls("enable")), 1)

    def test_enabler_of_a_failed_start_gives_up(self):
        # A start that failed before QEMU ran: its stop ends the enabler,
        # which enables nothing once a pid file appears.
        self.hook("start", "begin", AUTO)
        self.hook("release", "end", AUTO)
        self.write_pid()
        time.sleep(1)
        self.assertEqual(self.calls("enable"), [])

    def test_started_without_enabler(self):
        # (A hook installed while the domain was starting: `started` enables.)
        self.write_pid()
        self.hook("started", "begin", FIXED)
        self.assertEqual(self.calls("enable"), ["enable --pid %d --cid 42" % self.qemu.pid])

    def test_fixed_cid(self):
        self.start(FIXED)
        self.assertEqual(self.calls("enable"), ["enable --pid %d --cid 42" % self.qemu.pid])
        self.assertEqual(self.entries(), {self.qemu.pid: 42})

    def test_cid_in_use_refuses_start(self):
        with open(self.table, "w") as f:
            f.write("1 42\n")
        self.hook("prepare", "begin", FIXED)
        self.hook("start", "begin", FIXED)
        self.write_pid()
        err = self.hook("started", "begin", FIXED, expect=1)
        self.assertIn("cannot enable QEMU pid %d for AF_VIRT" % self.qemu.pid, err)
        self.assertIn("CID 42 is in use", err)
        self.assertEqual(self.entries(), {1: 42})

    def test_no_tool_refuses_start(self):
        self.env["VIRTSOCKET_CTL"] = "/nonexistent/virtsocket-ctl"
        err = self.hook("start", "begin", AUTO, expect=1)
        self.assertIn("/nonexistent/virtsocket-ctl not found (install virtsocket-tools", err)

    def test_no_metadata(self):
        plain = domain()
        for op, sub in (("prepare", "begin"), ("start", "begin"), ("started", "begin"),
                        ("stopped", "end"), ("release", "end"), ("reconnect", "begin")):
            self.write_pid()
            self.assertEqual(self.hook(op, sub, plain), "")
        self.assertEqual(self.calls(), [])

    def test_enable_no(self):
        self.start(domain(' enable="no"><virtsocket:cid address="42"/></virtsocket:virtsocket>'), wait=False)
        self.assertEqual(self.calls(), [])

    def test_malformed(self):
        cases = [
            (' enable="yes"><virtsocket:cid address="2"/></virtsocket:virtsocket>', "out of range (3..2147483647)"),
            (' enable="yes"><virtsocket:cid address="x7"/></virtsocket:virtsocket>', "must be a decimal number"),
            (' enable="yes"><virtsocket:cid auto="yes" address="5"/></virtsocket:virtsocket>', "auto=\"yes\" and address together"),
            (' enable="maybe"/>', "enable must be 'yes' or 'no'"),
            (' enable="yes"><virtsocket:port number="1"/></virtsocket:virtsocket>', "unexpected element <port>"),
            (' enable="yes"><virtsocket:cid/><virtsocket:cid/></virtsocket:virtsocket>', "more than one <cid>"),
            (' enable="yes"><virtsocket:policy><virtsocket:to-host><virtsocket:port first="9" last="8"/>'
             '</virtsocket:to-host></virtsocket:policy></virtsocket:virtsocket>', "first 9 is above last 8"),
            (' enable="yes"><virtsocket:policy><virtsocket:to-host all="yes"><virtsocket:port number="1"/>'
             '</virtsocket:to-host></virtsocket:policy></virtsocket:virtsocket>', "all=\"yes\" and <port> elements together"),
            (' enable="yes"><virtsocket:policy><virtsocket:sideways/></virtsocket:policy></virtsocket:virtsocket>',
             "unexpected element <sideways>"),
        ]
        for meta, msg in cases:
            with self.subTest(msg=msg):
                err = self.hook("prepare", "begin", domain(meta), expect=1)
                self.assertIn("virtsocket hook: domain vm1, prepare begin: virtsocket metadata", err)
                self.assertIn(msg, err)
        err = self.hook("prepare", "begin", "<domain><metadata>", expect=1)
        self.assertIn("the domain XML on standard input cannot be parsed", err)
        self.assertEqual(self.calls(), [])

    def test_release_disables(self):
        self.start(AUTO)
        self.hook("stopped", "end", AUTO)
        self.hook("release", "end", AUTO)
        self.assertEqual(self.calls("disable"), ["disable --pid %d" % self.qemu.pid])
        self.assertEqual(self.entries(), {})

    def test_entry_gone_tolerated(self):
        # QEMU died: the host dropped its entry itself; and a pid number
        # reused by another enabled VMM is not disabled.
        self.start(AUTO)
        with open(self.table, "w") as f:
            f.write("")
        self.hook("release", "end", AUTO)
        self.start(AUTO, name="vm2")
        with open(self.table, "w") as f:
            f.write("%d 77\n" % self.qemu.pid)
        self.hook("release", "end", AUTO, name="vm2")
        self.assertEqual(self.calls("disable"), [])
        self.assertEqual(self.entries(), {self.qemu.pid: 77})

    def test_disable_unknown_pid(self):
        spec = importlib.util.spec_from_loader(
            "hook", importlib.machinery.SourceFileLoader("hook", HOOK))
        hook = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(hook)
        os.environ.update(VIRTSOCKET_CTL=FAKE, FAKE_CTL_LOG=self.log, FAKE_CTL_TABLE=self.table)
        hook.disable(self.qemu.pid)  # "that pid is not enabled": no error
        self.assertEqual(self.calls(), ["disable --pid %d" % self.qemu.pid])
        self.env["FAKE_CTL_FAIL"] = "list"
        self.start(AUTO)
        # (A failing listing at the stop is said, the hook exits 0.)
        err = self.hook("release", "end", AUTO)
        self.assertIn("virtsocket-ctl list failed: virtsocket-ctl: list pid 0: needs CAP_NET_ADMIN", err)

    def test_policy_applied(self):
        self.env["FAKE_CTL_POLICY"] = "1"
        self.start(POLICY)
        self.assertEqual(self.calls("ports"), [
            "ports --pid %d --to-host 1234,5000-5010 --to-guest none" % self.qemu.pid])
        self.start(AUTO, name="vm2")
        self.assertEqual(self.calls("ports")[1:], [
            "ports --pid %d --to-host all --to-guest all" % self.qemu.pid])

    def test_policy_unsupported(self):
        err = self.start(POLICY)
        self.assertIn("this virtsocket-ctl has no port policy: <virtsocket:policy> not applied "
                      "(to-host 1234,5000-5010, to-guest none)", err)
        self.assertEqual(self.calls("ports"), [])
        self.assertEqual(self.entries(), {self.qemu.pid: 3})

    def test_reconnect(self):
        self.start(FIXED)
        self.hook("reconnect", "begin", FIXED)
        self.assertEqual(len(self.calls("enable")), 1)
        with open(self.table, "w") as f:
            f.write("")  # (the host module was reloaded)
        self.hook("reconnect", "begin", FIXED)
        self.assertEqual(self.entries(), {self.qemu.pid: 42})
        with open(self.table, "w") as f:
            f.write("1 42\n")
        err = self.hook("reconnect", "begin", FIXED)  # fails, but exits 0
        self.assertIn("left running, without AF_VIRT", err)

    def test_filters_print_nothing(self):
        for op in ("migrate", "restore"):
            self.hook(op, "begin", FIXED)
        self.assertEqual(self.calls(), [])

    def test_example_domain(self):
        # vm-images/libvirt-domain.xml, the documented example, as the e2e
        # case fills it in.
        with open(EXAMPLE) as f:
            xml = f.read()
        for k, v in (("CID", "42"), ("ALLOWED_PORT", "1234"), ("ALLOWED_FIRST", "5000"),
                     ("ALLOWED_LAST", "5010")):
            xml = xml.replace("@%s@" % k, v)
        xml = re.sub("@[A-Z_]+@", "x", xml)
        self.env["FAKE_CTL_POLICY"] = "1"
        self.start(xml, name="example")
        self.assertEqual(self.calls("enable"), ["enable --pid %d --cid 42" % self.qemu.pid])
        self.assertEqual(self.calls("ports"), [
            "ports --pid %d --to-host 1234,5000-5010 --to-guest all" % self.qemu.pid])


if __name__ == "__main__":
    unittest.main(verbosity=2)
