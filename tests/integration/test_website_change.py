"""
website-change (BR 3.2.2.4.18) and RFC 8738 IP targets through the full pipeline (POST /mpic,
coordinator, Redis, six workers): against pebble-challtestsrv (a challtestsrv redirect into an
http-01 file; acme-http-01 on an IP literal) and against an HTTP server and a TLS server
started here on 127.0.0.1 and ::1 (custom bodies, 2xx rule, case flag, regex, header echo,
redirects into https, lookup and transport failures, IPv4 and IPv6 literal targets), plus the
400 answers of the request parser.
"""
import base64
import http.server
import os
import socket
import ssl
import subprocess
import threading

import pytest

import mpiclab
from mpiclab import CODES, by_code, error_types, expect_200, http01_body

HTTP_DETAIL_KEYS = ["validation_method", "response_history", "response_url",
                    "response_status_code", "response_page"]
PKI = "/.well-known/pki-validation/"


class WebServer:
    """
    HTTP (or HTTPS with a self-signed certificate) on 127.0.0.1 and ::1, same port: routes map
    a path to (status, headers, body); every request's (path, headers) is recorded.
    """

    def __init__(self, workdir, tls=False, port=None):
        outer = self
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 20

            def do_GET(self):  # called by http.server for each GET
                with outer.lock:
                    outer.requests.append((self.path, dict(self.headers.items())))
                    status, headers, body = outer.routes.get(
                        self.path, (404, {}, b"not found"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # called by http.server; keep stderr quiet
                pass

        class V6Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6

        ctx = None
        if tls:
            cert, key = os.path.join(workdir, "web-cert.pem"), os.path.join(workdir, "web-key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", cert, "-days", "2", "-subj",
                            "/CN=web.mpic.test"], check=True, capture_output=True, timeout=60)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
        self.port = port or mpiclab.free_port(("127.0.0.1",))
        self.servers = [http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler),
                        V6Server(("::1", self.port), Handler)]
        for s in self.servers:
            s.daemon_threads = True
            if ctx is not None:
                # the handshake runs in the handler thread, not serialized in accept()
                s.socket = ctx.wrap_socket(s.socket, server_side=True,
                                           do_handshake_on_connect=False)
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True)
                        for s in self.servers]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()
        for t in self.threads:
            t.join(5.0)

    def route(self, path, body, status=200, headers=None):
        with self.lock:
            self.routes[path] = (status, headers or {},
                                 body.encode() if isinstance(body, str) else body)

    def seen(self, path):
        with self.lock:
            return [h for p, h in self.requests if p == path]


@pytest.fixture(scope="module")
def web(workdir):
    s = WebServer(workdir).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def web_tls(workdir):
    s = WebServer(workdir, tls=True).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def fleet(make_fleet, cts_honest, web, web_tls):
    """Workers resolve through challtestsrv (every name -> 127.0.0.1) and reach our servers."""
    workers = {code: [{"resolver": cts_honest.address, "http_port": web.port,
                       "args": ["--lab-https-port", str(web_tls.port)]}] for code in CODES}
    return make_fleet(workers, name="web")


@pytest.fixture(scope="module")
def cts_fleet(make_fleet, cts_honest, http01_port):
    return make_fleet(mpiclab.uniform_workers(cts_honest.address, http_port=http01_port),
                      name="webcts")


def website_body(target, path, value, **params):
    p = {"validation_method": "website-change", "http_token_path": path,
         "challenge_value": value}
    p.update(params)
    return {"check_type": "dcv", "domain_or_ip_target": target, "dcv_check_parameters": p}


def new_path():
    return f"mpic-{mpiclab.random_token(12)}.txt"


def new_value():
    return f"rv-{mpiclab.random_token(32)}"


def all_perspectives(body, completed, passed):
    """
    The perspectives that reported, each checked against the expectation. Once the verdict is
    decided the coordinator cuts stragglers after straggler_grace_ms (mpic_error:coordinator:
    deadline); on a loaded machine that may be any perspective, so those are skipped, but at
    least a quorum (pass) or enough to refute one (fail) must have reported.
    """
    results = by_code(body)
    assert sorted(results) == sorted(CODES), body
    judged = {}
    for code, cr in results.items():
        if error_types(cr) == ["mpic_error:coordinator:deadline"]:
            continue
        judged[code] = cr
        assert cr["check_completed"] is completed, (code, cr["errors"], cr)
        assert cr["check_passed"] is passed, (code, cr)
        assert list(cr["details"]) == HTTP_DETAIL_KEYS, cr
        assert cr["details"]["validation_method"] in ("website-change", "acme-http-01")
    assert len(judged) >= (4 if passed else 3), body
    return judged


# ------------------------------------------------------------------------ pass cases

def test_website_change_http_pass(fleet, web):
    path, value = new_path(), new_value()
    page = f"<html><body>\n<p>{value}</p>\n</body></html>\n"
    web.route(PKI + path, page)
    target = "web-pass.mpic.test"
    body = expect_200(fleet.post(website_body(target, path, value)))
    assert list(body) == mpiclab.TOP_LEVEL_KEYS_DCV
    assert body["is_valid"] is True, body
    assert body["dcv_check_parameters"] == {
        "validation_method": "website-change", "require_exact_case": True,
        "challenge_value": value, "http_token_path": path, "url_scheme": "http",
        "http_headers": None, "match_regex": None}
    assert list(body["dcv_check_parameters"]) == [
        "validation_method", "require_exact_case", "challenge_value", "http_token_path",
        "url_scheme", "http_headers", "match_regex"]
    for code, cr in all_perspectives(body, True, True).items():
        assert cr["errors"] in (None, []), (code, cr)
        d = cr["details"]
        assert d["response_url"] == f"http://{target}{PKI}{path}"
        assert d["response_status_code"] == 200
        assert d["response_history"] == []
        assert base64.b64decode(d["response_page"]).decode() == page
    seen = web.seen(PKI + path)
    assert len(seen) >= 4, seen
    assert all(h.get("Host") == target for h in seen), seen


def test_website_change_https_pass_without_cert_verification(fleet, web_tls):
    """url_scheme https: the self-signed certificate is not verified (as Boulder/Open MPIC)."""
    path, value = new_path(), new_value()
    web_tls.route(PKI + path, value)
    body = expect_200(fleet.post(website_body("web-tls.mpic.test", path, value,
                                              url_scheme="https")))
    assert body["is_valid"] is True, body
    assert body["dcv_check_parameters"]["url_scheme"] == "https"
    for cr in all_perspectives(body, True, True).values():
        assert cr["details"]["response_url"] == f"https://web-tls.mpic.test{PKI}{path}"
    assert len(web_tls.seen(PKI + path)) >= 4


def test_website_change_any_2xx_passes(fleet, web):
    path, value = new_path(), new_value()
    web.route(PKI + path, value, status=203)
    body = expect_200(fleet.post(website_body("web-203.mpic.test", path, value)))
    assert body["is_valid"] is True, body
    for cr in all_perspectives(body, True, True).values():
        assert cr["details"]["response_status_code"] == 203


def test_website_change_case_flag(fleet, web):
    path, value = new_path(), new_value()
    web.route(PKI + path, value.upper())
    body = expect_200(fleet.post(website_body("web-case.mpic.test", path, value)))
    assert body["is_valid"] is False, body
    for cr in all_perspectives(body, True, False).values():
        assert error_types(cr) == ["mpic_error:dcv_checker:mismatch"], cr
    body = expect_200(fleet.post(website_body("web-case.mpic.test", path, value,
                                              require_exact_case=False)))
    assert body["is_valid"] is True, body
    assert body["dcv_check_parameters"]["require_exact_case"] is False
    all_perspectives(body, True, True)


def test_website_change_regex(fleet, web):
    path, value = new_path(), new_value()
    web.route(PKI + path, f"token={value}\nexpires=2026-12-01\n")
    # an empty challenge_value with a regex: the regex alone decides
    body = expect_200(fleet.post(website_body("web-re.mpic.test", path, "",
                                              match_regex="^token=rv-[A-Za-z0-9_-]+$")))
    assert body["is_valid"] is False, body  # "$" is the end of the whole stripped body
    body = expect_200(fleet.post(website_body("web-re.mpic.test", path, "",
                                              match_regex="expires=[0-9]{4}-[0-9]{2}-[0-9]{2}$")))
    assert body["is_valid"] is True, body
    assert body["dcv_check_parameters"]["match_regex"].startswith("expires=")
    body = expect_200(fleet.post(website_body("web-re.mpic.test", path, value,
                                              match_regex="^token=rv-")))
    assert body["is_valid"] is True, body
    body = expect_200(fleet.post(website_body("web-re.mpic.test", path, value,
                                              match_regex="^TOKEN=")))  # regex: case matters
    assert body["is_valid"] is False, body
    for cr in all_perspectives(body, True, False).values():
        assert "match_regex" in cr["errors"][0]["error_message"], cr


def test_website_change_headers_sent(fleet, web):
    path, value = new_path(), new_value()
    web.route(PKI + path, value)
    headers = {"User-Agent": "mpic-website-test/1", "X-Mpic-Test": "abc 123"}
    body = expect_200(fleet.post(website_body("web-hdr.mpic.test", path, value,
                                              http_headers=headers)))
    assert body["is_valid"] is True, body
    assert body["dcv_check_parameters"]["http_headers"] == headers
    seen = web.seen(PKI + path)
    assert len(seen) >= 4
    for h in seen:
        assert h.get("User-Agent") == "mpic-website-test/1", h
        assert h.get("X-Mpic-Test") == "abc 123", h


def test_website_change_redirect_into_https(fleet, web, web_tls):
    path, value = new_path(), new_value()
    target = "web-redir.mpic.test"
    location = f"https://{target}/landing/{path}"
    web.route(PKI + path, "", status=302, headers={"Location": location})
    web_tls.route(f"/landing/{path}", value)
    body = expect_200(fleet.post(website_body(target, path, value)))
    assert body["is_valid"] is True, body
    for cr in all_perspectives(body, True, True).values():
        d = cr["details"]
        assert d["response_history"] == [{"status_code": 302, "url": location}], d
        assert d["response_url"] == f"http://{target}{PKI}{path}"
        assert base64.b64decode(d["response_page"]).decode() == value


def test_website_change_via_challtestsrv_redirect(cts_fleet, cts_honest):
    """challtestsrv serves only /.well-known/acme-challenge/: reach it through its redirect."""
    path, value = new_path(), new_value()
    token = mpiclab.random_token(32)
    target = "web-cts.mpic.test"
    cts_honest.add_http01(token, f"prefix {value} suffix")
    location = f"http://{target}/.well-known/acme-challenge/{token}"
    cts_honest.add_redirect(PKI + path, location)
    body = expect_200(cts_fleet.post(website_body(target, path, value)))
    assert body["is_valid"] is True, body
    for cr in all_perspectives(body, True, True).values():
        assert cr["details"]["response_history"] == [{"status_code": 302, "url": location}]
    body = expect_200(cts_fleet.post(website_body(target, path, value + "x")))
    assert body["is_valid"] is False, body
    all_perspectives(body, True, False)


# ------------------------------------------------------------------------ fail cases

def test_website_change_non_2xx_fails(fleet, web):
    path, value = new_path(), new_value()
    web.route(PKI + path, value, status=404)
    body = expect_200(fleet.post(website_body("web-404.mpic.test", path, value)))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, True, False).items():
        assert error_types(cr) == ["mpic_error:http"], cr
        msg = cr["errors"][0]["error_message"]
        assert "Response status 404" in msg and code in msg and "127.0.0.1" in msg, msg
        assert f"http://web-404.mpic.test{PKI}{path}" in msg, msg
        assert cr["details"]["response_status_code"] == 404


def test_website_change_redirect_to_other_port_is_invalid(fleet, web):
    path, value = new_path(), new_value()
    web.route(PKI + path, "", status=301,
              headers={"Location": f"http://web-port.mpic.test:8080/{path}"})
    body = expect_200(fleet.post(website_body("web-port.mpic.test", path, value)))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, True, False).items():
        assert error_types(cr) == ["mpic_error:redirect:invalid"], cr
        assert "Redirect code: 301" in cr["errors"][0]["error_message"]
        assert code in cr["errors"][0]["error_message"]


def test_website_change_303_is_invalid(fleet, web):
    path, value = new_path(), new_value()
    web.route(PKI + path, "", status=303, headers={"Location": f"/x/{path}"})
    web.route(f"/x/{path}", value)
    body = expect_200(fleet.post(website_body("web-303.mpic.test", path, value)))
    assert body["is_valid"] is False, body
    for cr in all_perspectives(body, True, False).values():
        assert error_types(cr) == ["mpic_error:redirect:invalid"], cr


def test_website_change_value_past_read_prefix_fails(fleet, web):
    path, value = new_path(), new_value()
    web.route(PKI + path, "x" * 4000 + value)
    body = expect_200(fleet.post(website_body("web-long.mpic.test", path, value)))
    assert body["is_valid"] is False, body
    for cr in all_perspectives(body, True, False).values():
        assert len(base64.b64decode(cr["details"]["response_page"])) == 1024


# ------------------------------------------------------------------------ error cases

def test_website_change_servfail_not_completed(fleet, cts_honest):
    name = "web-servfail.mpic.test"
    cts_honest.set_servfail(name)
    body = expect_200(fleet.post(website_body(name, new_path(), new_value())))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, False, False).items():
        assert error_types(cr) == ["mpic_error:dcv_checker:lookup"], cr
        assert name in cr["errors"][0]["error_message"] and code in cr["errors"][0]["error_message"]


def test_website_change_connection_refused_not_completed(fleet, cts_honest):
    name = "web-refused.mpic.test"
    cts_honest.add_a(name, ["127.0.0.3"])
    body = expect_200(fleet.post(website_body(name, new_path(), new_value())))
    assert body["is_valid"] is False, body
    for code, cr in all_perspectives(body, False, False).items():
        assert error_types(cr) == ["mpic_error:http"], cr
        msg = cr["errors"][0]["error_message"]
        assert "127.0.0.3" in msg and code in msg and f"http://{name}" in msg, msg


@pytest.mark.parametrize("params,issue,field", [
    ({"challenge_value": ""}, "empty-challenge-value", "challenge_value"),
    ({"match_regex": "(unclosed"}, "invalid-value", "match_regex"),
    ({"match_regex": "((a{1,100}){1,100}){1,100}"}, "invalid-value", "match_regex"),
    ({"http_token_path": "../../etc/passwd"}, "invalid-value", "http_token_path"),
    ({"http_token_path": "/abs.txt"}, "invalid-value", "http_token_path"),
    ({"http_token_path": "a?b=c"}, "invalid-value", "http_token_path"),
    ({"url_scheme": "ftp"}, "invalid-value", "url_scheme"),
    ({"http_headers": {"Host": "x.example"}}, "invalid-value", "http_headers"),
    ({"challenge_value": "token-abc", "http_token_path": "token-abc.txt"},
     "challenge-value-in-request", "challenge_value"),
    ({"http_token_path": None}, "missing-field", "http_token_path"),
])
def test_website_change_bad_requests(fleet, params, issue, field):
    body = website_body("web-bad.mpic.test", "f.txt", "rv-1")
    body["dcv_check_parameters"].update(params)
    resp = fleet.post(body)
    assert resp.status == 400, resp
    issues = resp.json["validation_issues"]
    assert any(i["issue_type"] == issue and i["field"] == f"dcv_check_parameters.{field}"
               for i in issues), issues


def test_website_change_wildcard_rejected(fleet):
    resp = fleet.post(website_body("*.web-wild.mpic.test", "f.txt", "rv-1"))
    assert resp.status == 400, resp
    assert any(i["field"] == "domain_or_ip_target" and i["issue_type"] == "invalid-wildcard"
               for i in resp.json["validation_issues"]), resp.json


# ------------------------------------------------------------------------ IP targets

@pytest.mark.parametrize("target,host", [("127.0.0.1", "127.0.0.1"), ("::1", "[::1]"),
                                         ("[::1]", "[::1]")])
def test_website_change_ip_targets(fleet, web, target, host):
    path, value = new_path(), new_value()
    web.route(PKI + path, value)
    body = expect_200(fleet.post(website_body(target, path, value)))
    assert body["is_valid"] is True, body
    assert body["domain_or_ip_target"] == target
    for cr in all_perspectives(body, True, True).values():
        assert cr["details"]["response_url"] == f"http://{host}{PKI}{path}"
    seen = web.seen(PKI + path)
    assert len(seen) >= 4 and all(h.get("Host") == host for h in seen), seen


@pytest.mark.parametrize("target,host", [("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")])
def test_http01_ip_targets(fleet, web, target, host):
    token = mpiclab.random_token(43)
    keyauth = f"{token}.{mpiclab.random_token(43)}"
    web.route(f"/.well-known/acme-challenge/{token}", keyauth + "\n")
    body = expect_200(fleet.post(http01_body(target, token, keyauth)))
    assert body["is_valid"] is True, body
    for cr in all_perspectives(body, True, True).values():
        assert cr["details"]["response_url"] == f"http://{host}/.well-known/acme-challenge/{token}"
    seen = web.seen(f"/.well-known/acme-challenge/{token}")
    assert len(seen) >= 4 and all(h.get("Host") == host for h in seen), seen
    body = expect_200(fleet.post(http01_body(target, token, keyauth + "x")))
    assert body["is_valid"] is False, body
    for cr in all_perspectives(body, True, False).values():
        assert error_types(cr) == ["mpic_error:dcv_checker:mismatch"], cr
        assert target.strip("[]") in cr["errors"][0]["error_message"]


def test_http01_ipv4_target_against_challtestsrv(cts_fleet, cts_honest):
    token = mpiclab.random_token(43)
    keyauth = f"{token}.{mpiclab.random_token(43)}"
    cts_honest.add_http01(token, keyauth)
    body = expect_200(cts_fleet.post(http01_body("127.0.0.1", token, keyauth)))
    assert body["is_valid"] is True, body
    for cr in all_perspectives(body, True, True).values():
        assert cr["details"]["response_url"] == \
            f"http://127.0.0.1/.well-known/acme-challenge/{token}"
    history = [h for h in cts_honest.http_history("127.0.0.1")
               if h["URL"] == f"/.well-known/acme-challenge/{token}"]
    assert len(history) >= 4, history


def test_http01_ip_target_wildcard_and_garbage_rejected(fleet):
    for target in ("*.127.0.0.1", "::1%eth0", "[::1"):
        resp = fleet.post(http01_body(target, "tok", "tok.ka"))
        assert resp.status == 400, (target, resp)
        assert any(i["field"] == "domain_or_ip_target"
                   for i in resp.json["validation_issues"]), resp.json
