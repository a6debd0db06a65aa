#!/bin/bash
# The scripted "agent": what a coding agent does on a real task, including the near-miss.
set -u
# The demo writes "on" here only when its own output is coloured (a terminal, no NO_COLOR).
if [ "@COLOUR@" = on ]; then
  say() { printf '\n\033[1;36m[agent]\033[0m %s\n' "$*"; }
else
  say() { printf '\n[agent] %s\n' "$*"; }
fi
cd /workspace

say "git clone git://git.demo.test/demo.git   (raw TCP, port 9418)"
git clone -q git://git.demo.test/demo.git project && echo "cloned: $(ls project | tr '\n' ' ')"
cd project 2>/dev/null || exit 1

say "installing dependencies from registry.demo.test   (HTTP through the proxy)"
curl -fsS http://registry.demo.test/left-pad-1.3.0.tgz -o left-pad.tgz && tar xzf left-pad.tgz && echo "installed: $(cat left-pad/VERSION)"

say "running the tests"
./run-tests.sh

say "the integration test still points at the PRODUCTION payments webhook..."
curl -sS -m 5 -X POST http://api.payments.prod.demo.test/webhook -d '{"refund": 4200}' || true

say "...and a fixture connects to the production database directly"
if timeout 5 bash -c 'exec 3<>/dev/tcp/198.18.0.13/5432; head -1 <&3' 2>/dev/null; then echo "CONNECTED TO PRODUCTION"; else echo "connection failed"; fi

say "...and something reads the cloud metadata service for credentials"
curl -sS -m 5 --noproxy '*' http://169.254.169.254/latest/meta-data/iam/security-credentials/ || true

say "ignoring the proxy does not help: curl --noproxy '*' to the webhook"
curl -sS -m 5 --noproxy '*' -X POST http://api.payments.prod.demo.test/webhook -d '{"refund": 4200}' || true
exit 0
