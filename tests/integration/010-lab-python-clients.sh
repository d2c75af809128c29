#!/bin/sh
# The lab's own Python clients, as students run them: TCP connects, sends
# one line without a newline, does one recv(1024) and closes; UDP does
# sendto and one recvfrom(2048).  Both decode the reply as UTF-8.
# shellcheck source=tests/integration/lib.sh
. "$TESTLIB"

command -v python3 > /dev/null 2>&1 || skip "python3 is not installed"

p=$(free_port)
write_conf "$tmp/echod.conf" <<CONF
{ protocol = "tcp"; address = "::"; port = $p; transform = "upper"; }
{ protocol = "udp"; address = "::"; port = $p; transform = "upper"; }
CONF
start_echod "$tmp/echod.conf"

cat > "$tmp/TCPClient.py" <<'PY'
import sys
from socket import *
serverName = sys.argv[1]
serverPort = int(sys.argv[2])
clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.settimeout(30)
clientSocket.connect((serverName, serverPort))
sentence = sys.stdin.readline().rstrip('\n')
clientSocket.send(sentence.encode())
modifiedSentence = clientSocket.recv(1024)
print('From Server: ', modifiedSentence.decode())
clientSocket.close()
PY
cat > "$tmp/UDPClient.py" <<'PY'
import sys
from socket import *
serverName = sys.argv[1]
serverPort = int(sys.argv[2])
clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.settimeout(30)
message = sys.stdin.readline().rstrip('\n')
clientSocket.sendto(message.encode(), (serverName, serverPort))
modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
print(modifiedMessage.decode())
clientSocket.close()
PY

out=$(echo 'a lowercase sentence from python' | python3 "$tmp/TCPClient.py" 127.0.0.1 "$p")
expect_eq "$?" 0 "TCPClient.py exits 0"
expect_eq "$out" "From Server:  A LOWERCASE SENTENCE FROM PYTHON" "TCPClient.py gets the upper-case reply"
out=$(printf 'caf\303\251 na\303\257ve\n' | python3 "$tmp/TCPClient.py" 127.0.0.1 "$p")
expect_eq "$out" "$(printf 'From Server:  CAF\303\251 NA\303\257VE')" "TCPClient.py decodes UTF-8"
out=$(echo 'a lowercase sentence from python' | python3 "$tmp/UDPClient.py" 127.0.0.1 "$p")
expect_eq "$?" 0 "UDPClient.py exits 0"
expect_eq "$out" "A LOWERCASE SENTENCE FROM PYTHON" "UDPClient.py gets the upper-case reply"

echod_alive
stop_echod
