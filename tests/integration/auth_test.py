#!/usr/bin/python3
"""gRPC authentication (issue 9) through a real foxpoold and real headless
Firefox: TLS with client certificates (a CA and certificates made with the
openssl CLI at test time), bearer tokens of two principals and an admin,
lease ownership, SIGHUP reloading the tokens, the Python client and the
CLI.

Usage: auth_test.py FOXPOOLD_BINARY FOXPOOL_CLI (PYTHONPATH must reach the
assembled Python package, build/python, and this directory).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.request

import grpc

import foxpool
from foxpool.v1 import browser_pool_pb2 as pb
from foxpool.v1 import browser_pool_pb2_grpc as rpc
from foxpoold import Foxpoold, Pages, wait_until

FOXPOOLD = sys.argv.pop(1) if len(sys.argv) > 1 else "build/server/foxpoold"
FOXPOOL_CLI = sys.argv.pop(1) if len(sys.argv) > 1 else "build/clients/cli/foxpool"

ALICE = "alice-token-7f3a9c0e5b2d4f61"
BOB = "bob-token-1e8d6a4c2b9f7e35"
ROOT = "root-token-a0b1c2d3e4f5a6b7"
CAROL = "carol-token-5c4b3a2918f7e6d5"
WRONG = "wrong-token-0000111122223333"
TITLE = "auth test page"
DENIED = "lease belongs to another principal"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_certificates(directory):
    """A CA, a server certificate for IP 127.0.0.1 and a client
    certificate, signed by the CA; and a client certificate and a server
    certificate ("rotated") from another CA. EC keys: quick to make."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "1",
                "-subj", f"/CN=foxpool test {ca}",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)

    def leaf(name, ca, common_name, extensions):
        with open(os.path.join(directory, f"{name}.ext"), "w") as ext:
            ext.write(extensions)
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={common_name}", cwd=directory)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "1",
                "-extfile", f"{name}.ext", cwd=directory)

    leaf("server", "ca", "foxpool-server",
         "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    leaf("client", "ca", "test-client", "extendedKeyUsage=clientAuth\n")
    leaf("stranger", "other-ca", "stranger", "extendedKeyUsage=clientAuth\n")
    leaf("rotated", "other-ca", "foxpool-server",
         "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")


def read(directory, name):
    with open(os.path.join(directory, name), "rb") as f:
        return f.read()


def bearer(token):
    return (("authorization", f"Bearer {token}"),)


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="foxpool-auth-")
        cls.dir = cls.tmp.name
        make_certificates(cls.dir)
        cls.tokens = os.path.join(cls.dir, "tokens")
        cls.write_tokens(f"# test principals\nalice {ALICE}\n\nbob {BOB}\nroot {ROOT} admin\n")
        cls.credentials = grpc.ssl_channel_credentials(
            read(cls.dir, "ca.pem"), read(cls.dir, "client.key"), read(cls.dir, "client.pem"))
        cls.pages = Pages({"/page": ("text/html", (
            f"<!doctype html><html><head><title>{TITLE}</title></head><body>hi</body></html>"
        ).encode())})
        cls.server = Foxpoold(
            FOXPOOLD, pool_size=1, credentials=cls.credentials, metadata=bearer(ALICE),
            flags=[f"--tls_cert={cls.dir}/server.pem", f"--tls_key={cls.dir}/server.key",
                   f"--client_ca={cls.dir}/ca.pem", f"--auth_token_file={cls.tokens}",
                   f"--state_dir={cls.dir}/state"])
        cls.stub = cls.server.stub

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.pages.close()
        cls.tmp.cleanup()
        assert code == 0, f"foxpoold exited with {code}"

    @classmethod
    def write_tokens(cls, text):
        temp = cls.tokens + ".tmp"
        with open(temp, "w") as f:
            f.write(text)
        os.chmod(temp, 0o600)
        os.replace(temp, cls.tokens)

    def assert_code(self, code, call, fragment=None):
        with self.assertRaises(grpc.RpcError) as raised:
            call()
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        if fragment is not None:
            self.assertIn(fragment, raised.exception.details())
        return raised.exception.details()

    def acquire(self, token):
        return self.stub.Acquire(pb.AcquireRequest(), timeout=60, metadata=bearer(token))

    # The tests run in name order; test_9 changes the tokens.

    def test_1_transport_needs_tls_and_a_client_certificate_of_the_ca(self):
        status = pb.GetPoolStatusRequest()
        for channel in (grpc.insecure_channel(self.server.address),
                        grpc.secure_channel(self.server.address,
                                            grpc.ssl_channel_credentials(read(self.dir, "ca.pem"))),
                        grpc.secure_channel(self.server.address, grpc.ssl_channel_credentials(
                            read(self.dir, "ca.pem"), read(self.dir, "stranger.key"),
                            read(self.dir, "stranger.pem")))):
            with channel:
                self.assert_code(grpc.StatusCode.UNAVAILABLE,
                                 lambda: rpc.BrowserPoolStub(channel).GetPoolStatus(
                                     status, timeout=5, metadata=bearer(ALICE)))

    def test_2_calls_without_a_valid_token_are_unauthenticated(self):
        for metadata in (None, bearer(WRONG), (("authorization", ALICE),)):
            calls = {
                "GetPoolStatus": lambda: self.stub.GetPoolStatus(
                    pb.GetPoolStatusRequest(), timeout=10, metadata=metadata),
                "Navigate": lambda: self.stub.Navigate(
                    pb.NavigateRequest(lease_id="x", url="http://127.0.0.1/"), timeout=10,
                    metadata=metadata),
                "Acquire": lambda: self.stub.Acquire(
                    pb.AcquireRequest(), timeout=10, metadata=metadata),
                "Drain": lambda: self.stub.Drain(pb.DrainRequest(), timeout=10,
                                                 metadata=metadata),
                "Session": lambda: list(self.stub.Session(
                    iter([pb.SessionRequest(acquire=pb.AcquireRequest())]), timeout=10,
                    metadata=metadata)),
            }
            for name, call in calls.items():
                with self.subTest(rpc=name, metadata=metadata):
                    details = self.assert_code(grpc.StatusCode.UNAUTHENTICATED, call,
                                               "missing or invalid bearer token")
                    self.assertNotIn(WRONG, details)
                    self.assertNotIn(ALICE, details)
        self.assertEqual(self.server.status().leased, 0)

    def test_3_health_needs_no_token(self):
        check = self.server.channel.unary_unary("/grpc.health.v1.Health/Check")
        # HealthCheckRequest{service: ""} is empty; SERVING is field 1 = 1.
        self.assertEqual(check(b"", timeout=10), b"\x08\x01")

    def test_4_leases_belong_to_their_principal(self):
        lease = self.acquire(ALICE)
        try:
            self.stub.Navigate(pb.NavigateRequest(lease_id=lease.lease_id,
                                                  url=self.pages.base + "/page"),
                               timeout=60, metadata=bearer(ALICE))
            title = self.stub.GetTitle(pb.GetTitleRequest(lease_id=lease.lease_id), timeout=10,
                                       metadata=bearer(ALICE))
            self.assertEqual(title.title, TITLE)

            denied = grpc.StatusCode.PERMISSION_DENIED
            bob = bearer(BOB)
            self.assert_code(denied, lambda: self.stub.Navigate(
                pb.NavigateRequest(lease_id=lease.lease_id, url=self.pages.base + "/page"),
                timeout=10, metadata=bob), DENIED)
            self.assert_code(denied, lambda: self.stub.Renew(
                pb.RenewRequest(lease_id=lease.lease_id), timeout=10, metadata=bob), DENIED)
            self.assert_code(denied, lambda: self.stub.Release(
                pb.ReleaseRequest(lease_id=lease.lease_id), timeout=10, metadata=bob), DENIED)
            self.assert_code(denied, lambda: self.stub.Revoke(
                pb.RevokeRequest(window_id=lease.window_id), timeout=10, metadata=bob), DENIED)
            self.assert_code(denied, lambda: self.stub.Drain(
                pb.DrainRequest(), timeout=10, metadata=bob), "admin")
            self.assertEqual(len(self.stub.ListLeases(pb.ListLeasesRequest(), timeout=10,
                                                      metadata=bob).leases), 0)

            mine = self.stub.ListLeases(pb.ListLeasesRequest(), timeout=10,
                                        metadata=bearer(ALICE)).leases
            self.assertEqual([l.lease_id_prefix for l in mine], [lease.lease_id[:8]])
            everyone = self.stub.ListLeases(pb.ListLeasesRequest(), timeout=10,
                                            metadata=bearer(ROOT)).leases
            self.assertEqual(len(everyone), 1)
            self.assertTrue(everyone[0].holder.startswith("alice "), everyone[0].holder)
            # The lease survived every attempt.
            self.stub.Renew(pb.RenewRequest(lease_id=lease.lease_id), timeout=10,
                            metadata=bearer(ALICE))
        finally:
            self.stub.Release(pb.ReleaseRequest(lease_id=lease.lease_id), timeout=10,
                              metadata=bearer(ALICE))

    def test_5_session_stream_lease_belongs_to_its_principal(self):
        def session(token, lease_id):
            requests = [pb.SessionRequest(acquire=pb.AcquireRequest()),
                        pb.SessionRequest(command=pb.SessionCommand(
                            id=1, get_title=pb.GetTitleRequest()))]
            responses = self.stub.Session(iter(requests), timeout=60, metadata=bearer(token))
            acquired = next(responses)
            self.assertTrue(acquired.HasField("acquired"))
            lease_id.append(acquired.acquired.lease_id)
            # Another principal cannot drive the stream's lease.
            self.assert_code(grpc.StatusCode.PERMISSION_DENIED, lambda: self.stub.GetTitle(
                pb.GetTitleRequest(lease_id=acquired.acquired.lease_id), timeout=10,
                metadata=bearer(BOB)), DENIED)
            result = next(responses)
            self.assertEqual(result.result.id, 1)
            self.assertEqual(result.result.code, 0, result.result.message)
            responses.cancel()

        session(ALICE, [])

    def test_6_python_client_over_mutual_tls_with_a_token(self):
        d = self.dir
        with foxpool.Pool(self.server.address, token=ALICE,
                          root_certificates=os.path.join(d, "ca.pem"),
                          private_key=read(d, "client.key"),
                          certificate_chain=os.path.join(d, "client.pem")) as pool:
            self.assertGreaterEqual(pool.status().idle + pool.status().resetting, 0)
            with pool.lease(timeout=60) as window:
                window.navigate(self.pages.base + "/page")
                self.assertEqual(window.title(), TITLE)
        with foxpool.Pool(self.server.address, token=WRONG,
                          root_certificates=read(d, "ca.pem"), private_key=read(d, "client.key"),
                          certificate_chain=read(d, "client.pem")) as pool:
            with self.assertRaises(foxpool.errors.Error) as raised:
                pool.status()
            self.assertIn("missing or invalid bearer token", str(raised.exception))

    def test_7_cli_over_mutual_tls_with_a_token_file(self):
        d = self.dir
        token_file = os.path.join(d, "cli-token")
        with open(token_file, "w") as f:
            f.write(ALICE + "\n")
        tls = [f"--address={self.server.address}", f"--tls_ca={d}/ca.pem",
               f"--tls_cert={d}/client.pem", f"--tls_key={d}/client.key"]

        def cli(*args, env=None):
            return subprocess.run([FOXPOOL_CLI, *args], capture_output=True, text=True,
                                  timeout=60, env={**os.environ, **(env or {})})

        done = cli("status", "--json", *tls, f"--token_file={token_file}")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("idle", done.stdout)
        done = cli("status", *tls, env={"FOXPOOL_TOKEN": BOB})
        self.assertEqual(done.returncode, 0, done.stderr)
        done = cli("status", *tls, env={"FOXPOOL_TOKEN": WRONG})
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("missing or invalid bearer token", done.stderr + done.stdout)
        self.assertNotIn(WRONG, done.stderr + done.stdout)
        done = cli("status", f"--address={self.server.address}", f"--token_file={token_file}")
        self.assertNotEqual(done.returncode, 0, "a plaintext connection must fail")

    def test_8_persistent_profiles_are_per_principal(self):
        def acquire(token):
            return self.stub.Acquire(pb.AcquireRequest(profile="shop"), timeout=90,
                                     metadata=bearer(token))

        def release(token, lease):
            self.stub.Release(pb.ReleaseRequest(lease_id=lease.lease_id), timeout=10,
                              metadata=bearer(token))

        def profiles(token):
            return [p.name for p in self.stub.ListProfiles(
                pb.ListProfilesRequest(), timeout=10, metadata=bearer(token)).profiles]

        alice = acquire(ALICE)
        try:
            # Alice's "shop" is busy, yet Bob's "shop" is another profile:
            # he gets a window of his own at once rather than waiting.
            bob = acquire(BOB)
            self.assertNotEqual(bob.window_id, alice.window_id)
            self.stub.SetCookie(pb.SetCookieRequest(
                lease_id=alice.lease_id, cookie=pb.Cookie(name="secret", value="alices"),
                url=self.pages.base + "/"), timeout=30, metadata=bearer(ALICE))
            mine = self.stub.GetCookies(pb.GetCookiesRequest(lease_id=alice.lease_id, all=True),
                                        timeout=30, metadata=bearer(ALICE)).cookies
            self.assertIn("secret", [c.name for c in mine])
            cookies = self.stub.GetCookies(pb.GetCookiesRequest(lease_id=bob.lease_id, all=True),
                                           timeout=30, metadata=bearer(BOB)).cookies
            self.assertNotIn("secret", [c.name for c in cookies])
            release(BOB, bob)
        finally:
            release(ALICE, alice)
        self.assertEqual(profiles(ALICE), ["shop"])
        self.assertEqual(profiles(BOB), ["shop"])
        self.assertEqual(profiles(ROOT), [])
        self.assert_code(grpc.StatusCode.NOT_FOUND, lambda: self.stub.DeleteProfile(
            pb.DeleteProfileRequest(name="shop"), timeout=10, metadata=bearer(ROOT)))

    def test_9_sighup_reloads_the_tokens(self):
        lease = self.acquire(ALICE)
        try:
            self.write_tokens(f"alice {ALICE}\ncarol {CAROL}\nroot {ROOT} admin\n")
            self.server.process.send_signal(signal.SIGHUP)
            wait_until(lambda: "reloaded 3 tokens" in self.server.log(), 10, "the reload")
            self.assert_code(grpc.StatusCode.UNAUTHENTICATED, lambda: self.stub.GetPoolStatus(
                pb.GetPoolStatusRequest(), timeout=10, metadata=bearer(BOB)))
            self.stub.GetPoolStatus(pb.GetPoolStatusRequest(), timeout=10, metadata=bearer(CAROL))
            self.assert_code(grpc.StatusCode.PERMISSION_DENIED, lambda: self.stub.Renew(
                pb.RenewRequest(lease_id=lease.lease_id), timeout=10, metadata=bearer(CAROL)))
            # A broken file keeps the tokens that work.
            self.write_tokens(f"alice {ALICE}\ncarol tiny-tok-x9\n")
            self.server.process.send_signal(signal.SIGHUP)
            wait_until(lambda: "keeping the previous tokens" in self.server.log(), 10,
                       "the refused reload")
            self.stub.GetPoolStatus(pb.GetPoolStatusRequest(), timeout=10, metadata=bearer(CAROL))
            # The lease lived through both.
            self.stub.Navigate(pb.NavigateRequest(lease_id=lease.lease_id,
                                                  url=self.pages.base + "/page"),
                               timeout=60, metadata=bearer(ALICE))
        finally:
            self.stub.Release(pb.ReleaseRequest(lease_id=lease.lease_id), timeout=10,
                              metadata=bearer(ALICE))
        metrics = urllib.request.urlopen(
            f"http://127.0.0.1:{self.server.metrics_port}/metrics", timeout=10).read().decode()
        for reason in ("missing_token", "invalid_token"):
            line = next(l for l in metrics.splitlines()
                        if l.startswith(f'foxpool_auth_failures_total{{reason="{reason}"}}'))
            self.assertGreater(float(line.split()[-1]), 0, line)
        log = self.server.log()
        self.assertIn("reflection is off", log)
        for token in (ALICE, BOB, ROOT, CAROL, WRONG, "tiny-tok-x9"):
            self.assertNotIn(token, log)


class CertificatesOnlyTest(unittest.TestCase):
    """Without a token file: TLS alone admits every caller anonymously;
    with --client_ca, the client certificate's common name is the
    principal."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="foxpool-auth-")
        self.dir = self.tmp.name
        make_certificates(self.dir)
        self.tls = [f"--tls_cert={self.dir}/server.pem", f"--tls_key={self.dir}/server.key"]

    def tearDown(self):
        self.tmp.cleanup()

    def test_tls_without_client_certificates_is_anonymous(self):
        server = Foxpoold(FOXPOOLD, pool_size=1, flags=self.tls, wait_for_windows=False,
                          credentials=grpc.ssl_channel_credentials(read(self.dir, "ca.pem")))
        try:
            server.status()
            self.assertIn("gRPC security: TLS, no bearer tokens", server.log())
            with grpc.insecure_channel(server.address) as plain:
                with self.assertRaises(grpc.RpcError) as raised:
                    rpc.BrowserPoolStub(plain).GetPoolStatus(pb.GetPoolStatusRequest(), timeout=5)
                self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAVAILABLE)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_a_rotated_certificate_is_served_without_a_restart(self):
        live = os.path.join(self.dir, "live")
        os.mkdir(live)
        for name in ("server.pem", "server.key"):
            shutil.copy(os.path.join(self.dir, name), live)
        server = Foxpoold(FOXPOOLD, pool_size=1, wait_for_windows=False,
                          credentials=grpc.ssl_channel_credentials(read(self.dir, "ca.pem")),
                          flags=[f"--tls_cert={live}/server.pem", f"--tls_key={live}/server.key",
                                 "--tls_reload_interval=1s"])

        def status_trusting(ca):
            """GetPoolStatus on a new connection that trusts only `ca`; its code."""
            credentials = grpc.ssl_channel_credentials(read(self.dir, ca))
            with grpc.secure_channel(server.address, credentials) as channel:
                try:
                    rpc.BrowserPoolStub(channel).GetPoolStatus(pb.GetPoolStatusRequest(), timeout=5)
                    return grpc.StatusCode.OK
                except grpc.RpcError as error:
                    return error.code()

        try:
            server.status()  # Connects the fixture's channel.
            self.assertEqual(status_trusting("other-ca.pem"), grpc.StatusCode.UNAVAILABLE)
            # The renewal lands as a certificate management tool writes it:
            # each file replaced whole, the key first.
            for name, new in (("server.key", "rotated.key"), ("server.pem", "rotated.pem")):
                shutil.copy(os.path.join(self.dir, new), os.path.join(live, name + ".new"))
                os.replace(os.path.join(live, name + ".new"), os.path.join(live, name))
            wait_until(lambda: status_trusting("other-ca.pem") == grpc.StatusCode.OK, 30,
                       "new connections to get the rotated certificate")
            self.assertEqual(status_trusting("ca.pem"), grpc.StatusCode.UNAVAILABLE)
            # The connection made before the rotation still works.
            server.status()
        finally:
            self.assertEqual(server.stop(), 0)

    def test_the_client_certificates_name_is_the_principal(self):
        credentials = grpc.ssl_channel_credentials(
            read(self.dir, "ca.pem"), read(self.dir, "client.key"), read(self.dir, "client.pem"))
        server = Foxpoold(FOXPOOLD, pool_size=1, credentials=credentials,
                          flags=[*self.tls, f"--client_ca={self.dir}/ca.pem"])
        try:
            lease = server.stub.Acquire(pb.AcquireRequest(), timeout=60)
            leases = server.stub.ListLeases(pb.ListLeasesRequest(), timeout=10).leases
            self.assertEqual(len(leases), 1)
            self.assertTrue(leases[0].holder.startswith("test-client "), leases[0].holder)
            with self.assertRaises(grpc.RpcError) as raised:
                server.stub.Drain(pb.DrainRequest(), timeout=10)
            self.assertEqual(raised.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
            server.stub.Release(pb.ReleaseRequest(lease_id=lease.lease_id), timeout=10)
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
