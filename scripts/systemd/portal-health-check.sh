#!/bin/sh
# Restart the worker or beat whose heartbeat /health/ reports stale although its process
# is still there (a main loop that hangs: systemd's Restart= only sees processes that end).
# Run every minute by portal-health.timer; HEALTH_URL overrides where /health/ answers.
checks=$(curl -s --max-time 10 "${HEALTH_URL:-http://127.0.0.1:8000/health/}") || exit 0
for part in worker beat; do
    if printf '%s' "$checks" | grep -q "\"$part\": \"stale\""; then
        echo "portal-$part: heartbeat stale, restarting"
        systemctl restart "portal-$part"
    fi
done
