"""
labproc: run commands and servers inside the lab's network namespaces. Servers are started
detached (they outlive `up`), logged to <state>/logs/<name>.log and remembered in
<state>/pids/<name>.pid so `down` stops them by PID. ns_connect() opens a socket inside a
namespace from the calling process (setns on the calling thread only), so tests and the CLI
can talk to the coordinator without entering the namespace themselves.
"""
import ctypes
import os
import signal
import socket
import subprocess
import time

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


class LabError(Exception):
    """A lab command failed or a server did not become ready."""


def run(argv, check=True, timeout=30):
    """Runs one command; returns (rc, output). Raises LabError when check and rc != 0."""
    out = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                         timeout=timeout)
    if check and out.returncode != 0:
        raise LabError(f"{' '.join(map(str, argv))}: rc={out.returncode} "
                       f"{(out.stdout + out.stderr).strip()}")
    return out.returncode, out.stdout + out.stderr


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls predicate() until it returns a truthy value; raises LabError after timeout."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            raise LabError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class _InNetns:
    """Context manager: the calling thread is in namespace ns inside the block."""

    def __init__(self, ns):
        self.ns = ns

    def __enter__(self):
        self.own = open("/proc/thread-self/ns/net")
        with open(f"/run/netns/{self.ns}") as target:
            if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                self.own.close()
                raise OSError(err, f"setns({self.ns}): {os.strerror(err)}")
        return self

    def __exit__(self, *exc):
        try:
            if _libc.setns(self.own.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the original namespace")
        finally:
            self.own.close()


def ns_socket(ns, kind=socket.SOCK_STREAM):
    """An unconnected IPv4 socket that lives in namespace ns."""
    with _InNetns(ns):
        return socket.socket(socket.AF_INET, kind)


def ns_connect(ns, host, port, timeout=5.0):
    """A TCP connection made from inside namespace ns."""
    s = ns_socket(ns)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


class Server:
    """One detached server process in a namespace, with a log file and a pid file."""

    def __init__(self, state_dir, name, ns, argv, env=None):
        self.name = name
        self.ns = ns
        self.argv = [str(a) for a in argv]
        self.env = env
        self.log_path = os.path.join(state_dir, "logs", f"{name}.log")
        self.pid_path = os.path.join(state_dir, "pids", f"{name}.pid")
        self.popen = None

    def start(self):
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        os.makedirs(os.path.dirname(self.pid_path), exist_ok=True)
        argv = ["ip", "netns", "exec", self.ns] + self.argv
        with open(self.log_path, "ab") as logf:
            logf.write(("$ " + " ".join(argv) + "\n").encode())
            logf.flush()
            # ip netns exec execs the command, so this PID is the server's own
            self.popen = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=self.env,
                                          start_new_session=True)
        with open(self.pid_path, "w") as f:
            f.write(f"{self.popen.pid}\n")
        return self

    def check_alive(self):
        if self.popen is not None and self.popen.poll() is not None:
            raise LabError(f"{self.name} exited with {self.popen.returncode}; see "
                           f"{self.log_path}:\n{tail(self.log_path)}")


def tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            data = f.read()[-32768:].decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def stop_pids(pids, timeout=5.0):
    """SIGTERM to all, SIGKILL to those still alive after timeout; reaps our own children."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        live = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                live.append(pid)
            except ProcessLookupError:
                pass
        end = time.monotonic() + timeout
        while live and time.monotonic() < end:
            for pid in list(live):
                try:
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:
                        live.remove(pid)
                        continue
                except ChildProcessError:
                    pass
                if not _alive(pid):
                    live.remove(pid)
            time.sleep(0.02)
        if not live:
            return
        pids = live


def stop_pid(pid, timeout=5.0):
    stop_pids([pid], timeout)


def pid_netns(pid):
    """The namespace name `ip netns identify` reports for pid ('' when none)."""
    rc, out = run(["ip", "netns", "identify", str(pid)], check=False)
    return out.strip() if rc == 0 else ""


def stop_recorded(state_dir, own_namespaces):
    """Stops every server with a pid file whose process still lives in one of our namespaces."""
    piddir = os.path.join(state_dir, "pids")
    if not os.path.isdir(piddir):
        return
    pids = []
    for fn in sorted(os.listdir(piddir)):
        path = os.path.join(piddir, fn)
        try:
            with open(path) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pid = None
        if pid and _alive(pid) and pid_netns(pid) in own_namespaces:
            pids.append(pid)
        os.unlink(path)
    stop_pids(pids)


def stop_namespace_pids(ns):
    """Stops whatever still runs in namespace ns (ours: the lab created it)."""
    rc, out = run(["ip", "netns", "pids", ns], check=False)
    if rc != 0:
        return
    stop_pids([int(w) for w in out.split() if w.isdigit()], timeout=2.0)
