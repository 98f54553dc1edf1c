#!/usr/bin/env python3
"""Small, realistic two-snapshot fixture for banner-parse's tests and the
`parse` example (tests/data/snapshot-2023-06.jsonl.gz, snapshot-2023-07.jsonl.gz).

Hand-written templates of common products (not copied from any fingerprint
database); per-scan dynamic values (dates, ETags, cookies, nonces, lengths)
change between snapshots, per-host values (serials) do not; a few hosts churn
or disappear. Deterministic. Run from the repository root:

    python3 scripts/make_parse_fixtures.py
"""
import base64
import gzip
import json
import random

rng = random.Random(7)
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def date(month):
    return "%s, %02d %s 2023 %02d:%02d:%02d GMT" % (
        rng.choice(DAYS), rng.randint(1, 28), month, rng.randint(0, 23),
        rng.randint(0, 59), rng.randint(0, 59))


def hexs(n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def nginx(h, m):
    return ("HTTP/1.1 200 OK\r\nServer: nginx/%s\r\nDate: %s\r\nContent-Type: text/html\r\n"
            "Content-Length: %d\r\nLast-Modified: %s\r\nConnection: keep-alive\r\n"
            'ETag: "%s-%s"\r\nAccept-Ranges: bytes\r\n' % (
                h["ver"], date(m), rng.randint(200, 9000), date(m), hexs(8), hexs(3)))


def apache(h, m):
    return ("HTTP/1.1 302 Found\r\nDate: %s\r\nServer: Apache/%s (Ubuntu)\r\n"
            "Location: https://%s/\r\nContent-Length: %d\r\nContent-Type: text/html; charset=iso-8859-1\r\n" % (
                date(m), h["ver"], h["ip"], rng.randint(280, 320)))


def iis(h, m):
    return ("HTTP/1.1 200 OK\r\nCache-Control: private\r\nContent-Type: text/html; charset=utf-8\r\n"
            "Server: Microsoft-IIS/10.0\r\nSet-Cookie: ASP.NET_SessionId=%s; path=/; HttpOnly; SameSite=Lax\r\n"
            "X-AspNet-Version: 4.0.30319\r\nX-Powered-By: ASP.NET\r\nDate: %s\r\nContent-Length: %d\r\n" % (
                "".join(rng.choice("abcdefghijklmnopqrstuvwxyz012345") for _ in range(24)), date(m),
                rng.randint(1000, 5000)))


def camera(h, m):
    return ('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="IPCAM-%s", '
            'qop="auth", nonce="%s", opaque="%s", stale="FALSE"\r\n'
            "Content-Type: text/html\r\nContent-Length: 0\r\nServer: webs\r\n" % (
                h["serial"], hexs(32), hexs(16)))


def router(h, m):
    return ('HTTP/1.0 401 Unauthorized\r\nServer: mini_httpd/1.19 19dec2003\r\nDate: %s\r\n'
            'WWW-Authenticate: Basic realm="%s"\r\nContent-Type: text/html; charset=%%s\r\n'
            "Connection: close\r\n" % (date(m), h["model"]))


def ssh(h, m):
    return "SSH-2.0-OpenSSH_%s\r\n" % h["ver"]


def ftp(h, m):
    return "220 (vsFTPd %s)\r\n" % h["ver"]


PRODUCTS = [
    (nginx, "http", 80, lambda: {"ver": rng.choice(["1.18.0", "1.22.1", "1.24.0"])}),
    (apache, "http", 80, lambda: {"ver": rng.choice(["2.4.41", "2.4.52", "2.4.57"])}),
    (iis, "http", 80, lambda: {}),
    (camera, "http", 8080, lambda: {"serial": hexs(6).upper()}),
    (router, "http", 80, lambda: {"model": rng.choice(["WRT54G", "DIR-615", "TL-WR841N"])}),
    (ssh, "ssh", 22, lambda: {"ver": rng.choice(["8.2p1 Ubuntu-4ubuntu0.5", "7.4", "9.3"])}),
    (ftp, "ftp", 21, lambda: {"ver": rng.choice(["3.0.3", "2.3.4"])}),
]

hosts = []
for i in range(60):
    f, proto, port, mk = rng.choice(PRODUCTS)
    h = mk()
    h["ip"] = "198.51.100.%d" % (i + 1)
    hosts.append((f, proto, port, h))


def write(name, month, snapshot, churn):
    with gzip.open("tests/data/" + name, "wt", newline="") as out:
        for i, (f, proto, port, h) in enumerate(hosts):
            if churn and i % 15 == 14:
                continue  # host gone
            if churn and i % 20 == 3:
                # A different device now answers on the same ip/port.
                f, proto, h = nginx, "http", dict(h, ver="1.25.3")
            rec = {"ip": h["ip"], "port": port, "snapshot": snapshot, "protocol": proto,
                   "banner": f(h, month)}
            out.write(json.dumps(rec) + "\n")
        if churn:
            # A new host, and one whose banner is not valid UTF-8.
            out.write(json.dumps({"ip": "198.51.100.200", "port": 23, "snapshot": snapshot,
                                  "protocol": "telnet",
                                  "banner": base64.b64encode(b"\xff\xfd\x18\xff\xfd\x20login: ").decode(),
                                  "banner_encoding": "base64"}) + "\n")


write("snapshot-2023-06.jsonl.gz", "Jun", "2023-06-01", False)
write("snapshot-2023-07.jsonl.gz", "Jul", "2023-07-01", True)
