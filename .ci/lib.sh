# Helpers shared by the CI scripts: start the server on a free port and wait for it.

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# admin_key BINARY WORKDIR - creates an admin account and prints its API key
admin_key() {
    (cd "$2" && "$1" accounts create --name "ci-admin-$RANDOM" --role admin) | grep -o 'em_[A-Za-z0-9_-]*'
}

# start_server BINARY WORKDIR PORT [ARGS...] - sets SERVER_PID
start_server() {
    local binary=$1 workdir=$2 port=$3
    shift 3
    (cd "$workdir" && exec "$binary" serve --app-port "$port" "$@" >>"$workdir/server.log" 2>&1) &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then return 0; fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited during start-up:"; cat "$workdir/server.log"; return 1
        fi
        sleep 0.1
    done
    echo "server did not answer /health"; cat "$workdir/server.log"; return 1
}
