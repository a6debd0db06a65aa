# The demo world's services, run inside the demo's own network namespace (never on the host).
# One process, one thread per service; every request is logged to stdout as one line.
import http.server, socketserver, sys, threading, json, os

LOG = open(sys.argv[1], "a", buffering=1)
REGISTRY_DIR = sys.argv[2]

def log(service, line):
    LOG.write(json.dumps({"service": service, "event": line}) + "\n")

class Registry(http.server.SimpleHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, like the shared fronts (CDNs, ingresses) a registry sits
    # behind: it answers every request on a connection whatever its Host names, and logs the Host.
    protocol_version = "HTTP/1.1"
    def __init__(self, *a, **k):
        super().__init__(*a, directory=REGISTRY_DIR, **k)
    def log_message(self, fmt, *args):
        host = self.headers.get("Host", "-") if hasattr(self, "headers") and self.headers else "-"
        log("registry", "host=" + host + " " + (fmt % args))

class Payments(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        log("payments", "WEBHOOK FIRED " + self.path + " " + body.decode("utf-8", "replace"))
        self.send_response(200); self.end_headers(); self.wfile.write(b'{"status":"refund issued"}\n')
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b'payments api\n')
    def log_message(self, fmt, *args):
        pass

class Metadata(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log("metadata", "read " + self.path)
        self.send_response(200); self.end_headers()
        self.wfile.write(b'{"AccessKeyId":"ASIADEMO","SecretAccessKey":"demo-secret"}\n')
    def log_message(self, fmt, *args):
        pass

class Database(socketserver.BaseRequestHandler):
    def handle(self):
        log("database", "connection from " + self.client_address[0])
        self.request.sendall(b"demo-postgres ready\n")

class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    def server_bind(self):
        # HTTPServer.server_bind would look up its own name (getfqdn): no DNS in this world.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

class ThreadedTcp(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

servers = [
    Threaded(("198.18.0.11", 80), Registry),
    Threaded(("198.18.0.11", 8000), Registry),
    Threaded(("198.18.0.12", 80), Payments),
    Threaded(("169.254.169.254", 80), Metadata),
    ThreadedTcp(("198.18.0.13", 5432), Database),
]
for s in servers:
    threading.Thread(target=s.serve_forever, daemon=True).start()
log("world", "ready")
threading.Event().wait()
