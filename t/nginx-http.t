#!/usr/bin/perl

# zigtls nginx module, http: HTTP/1.1 and HTTP/2 over one port, variables,
# $scheme/$https, redirects, $body_bytes_sent, keep-alive and pipelining,
# several real clients (curl, openssl s_client, gnutls-cli, python ssl).

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin($_) for qw(curl openssl gnutls-cli python3);

my $t = ZtNginx->new;
my $c = $t->certs;

$t->write_file('html/index.html', "hello zigtls\n");
$t->write_file('html/dir/index.html', "in dir\n");
$t->write_file('html/1k', 'x' x 1000);

$t->write_conf(<<'CONF');
http {
    log_format zt '$zigtls_protocol|$zigtls_cipher|$zigtls_group|'
                  '$zigtls_sigalg|$zigtls_server_name|$zigtls_alpn|'
                  '$zigtls_session_reused|$zigtls_handshake_time|'
                  '$server_protocol|$scheme|$https|$body_bytes_sent|$uri';
    access_log %%DIR%%/logs/access.log zt;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        root %%DIR%%/html;
        keepalive_requests 100;

        location = /vars {
            return 200 "$scheme $https $zigtls_protocol $zigtls_alpn $zigtls_server_name\n";
        }
        location = /redirect {
            return 302 /index.html;
        }
    }
}
CONF
$t->start;

my $r;

# HTTP/1.1
$r = $t->curl('/index.html', '--http1.1');
is($r->{out}, "hello zigtls\n", 'GET over HTTP/1.1') or diag($r->{all});

# HTTP/2 via ALPN on the same port
$r = $t->curl('/index.html', '--http2', '-w', '%{http_version}');
is($r->{out}, "hello zigtls\n2", 'GET over HTTP/2 (ALPN h2)')
    or diag($r->{all});

my $port = $t->port(0);
$r = $t->curl("https://localhost:$port/vars", '--http1.1', '--resolve',
              "localhost:$port:127.0.0.1");
is($r->{out}, "https on TLSv1.3 http/1.1 localhost\n",
   '$scheme, $https and $zigtls_* in HTTP/1.1') or diag($r->{all});

$r = $t->curl("https://localhost:$port/vars", '--http2', '--resolve',
              "localhost:$port:127.0.0.1");
is($r->{out}, "https on TLSv1.3 h2 localhost\n", 'variables in HTTP/2')
    or diag($r->{all});

# nginx's own redirects (directory) and "return 302 /path" say https://
my $base = "https://127.0.0.1:$port";
$r = $t->curl('/dir', '--http1.1', '-o', '/dev/null', '-w',
              '%{redirect_url}');
is($r->{out}, "$base/dir/", 'directory redirect is https://')
    or diag($r->{all});
$r = $t->curl('/redirect', '--http2', '-o', '/dev/null', '-w',
              '%{redirect_url}');
is($r->{out}, "$base/index.html", 'return 302 /path is https:// (h2)')
    or diag($r->{all});

# openssl s_client
$r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
          '-servername', 'localhost', '-ign_eof'], 20,
         stdin => "GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n");
like($r->{out}, qr/hello zigtls/, 's_client GET') or diag($r->{all});
like($r->{out}, qr/TLSv1\.3/, 's_client: TLSv1.3');

# gnutls-cli
$r = run(['gnutls-cli', '--insecure', '--port', $port,
          '--sni-hostname', 'localhost', '127.0.0.1'], 20,
         stdin => "GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n",
         until => qr/hello zigtls/);
like($r->{all}, qr/hello zigtls/, 'gnutls-cli GET') or diag($r->{all});

# python ssl: keep-alive and pipelining, close_notify at the end
$r = $t->python(<<'PY', $port);
import socket, ssl, sys
port = int(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname="localhost", suppress_ragged_eofs=False)
req = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
s.sendall(req * 3 + b"GET /1k HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    print("clean-eof")
except ssl.SSLEOFError:
    print("truncated")
print("responses", data.count(b"HTTP/1.1 200 OK"))
print("bodies", data.count(b"hello zigtls"))
print("1k", b"x" * 1000 in data)
print("version", s.version())
PY
like($r->{out}, qr/responses 4/, 'pipelined requests answered')
    or diag($r->{all});
like($r->{out}, qr/bodies 3/, 'keep-alive bodies');
like($r->{out}, qr/1k True/, 'last body');
like($r->{out}, qr/clean-eof/, 'close_notify after Connection: close');

# HTTP/1.0 ends with close_notify too
$r = $t->python(<<'PY', $port);
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10),
                    suppress_ragged_eofs=False)
s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    print("clean-eof")
except ssl.SSLEOFError:
    print("truncated")
print(data.decode().split("\r\n")[0])
PY
like($r->{out}, qr/clean-eof/, 'close_notify after HTTP/1.0 response')
    or diag($r->{all});

# $body_bytes_sent counts plaintext
$t->stop;
my $log = $t->read_file('logs/access.log');
my @lines = grep { m{\|/1k$} } split /\n/, $log;
ok(@lines, 'access log line for /1k') or diag($log);
my @f = split /\|/, ($lines[0] || '');
is($f[11], 1000, '$body_bytes_sent is the plaintext size');
is($f[0], 'TLSv1.3', '$zigtls_protocol');
like($f[1] // '',
     qr/^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/,
     '$zigtls_cipher');
like($f[2] // '', qr/^(x25519|secp256r1)$/, '$zigtls_group');
is($f[3], 'ecdsa_secp256r1_sha256', '$zigtls_sigalg');
is($f[4], 'localhost', '$zigtls_server_name');
is($f[6], '.', '$zigtls_session_reused');
like($f[7] // '', qr/^\d+\.\d{3}$/, '$zigtls_handshake_time');
is($f[9], 'https', '$scheme in log');
unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts in error log')
    or diag($t->error_log);

done_testing();
