package ZtNginx;

# nginx end-to-end tests for the zigtls module (t/nginx-*.t), in the manner
# of nginx-tests: each test writes its own configuration into a temporary
# directory, generates its certificates with the openssl CLI, starts
# Debian's /usr/sbin/nginx there on 127.0.0.1 and stops it by PID.
#
#   use lib 't/lib'; use ZtNginx;
#   my $t = ZtNginx->new(stream => 1);   # dies loudly if nginx or the
#                                        # modules are missing
#   $t->write_file('html/index.html', "hello\n");
#   my $p = $t->port(0);                 # ports 0..n, free and stable
#   $t->write_conf(<<'EOF');             # %%PORT_0%% %%DIR%% %%CERTS%%
#   http { server { listen 127.0.0.1:%%PORT_0%%; zigtls on; ... } }
#   EOF
#   $t->start;                           # waits (bounded) for every port
#   my $r = $t->curl('/index.html');     # ZtTest::run result
#   $t->stop;                            # also done in END
#
# Every wait here is bounded; nothing skips silently.
#
# Environment:
#   ZT_VALGRIND=1  run nginx (master and workers) under valgrind memcheck;
#                  stop() adds a failing test for any memory error
#   ZT_KEEP=1      keep the test directories (/tmp/zt-nginx-*)
#   ZT_NO_BUILD=1  do not run "make module" when the .so files look stale
#   ZT_NGINX=path  another nginx binary (default /usr/sbin/nginx)
#   ZT_MODULES=dir the zigtls .so files from dir (built for ZT_NGINX)
#                  instead of build/; nothing is rebuilt then
#   ZT_STREAM_SO=path  nginx's own stream module (default Debian's; empty
#                  when the binary has stream built in)

use strict;
use warnings;

use Exporter qw(import);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

use ZtTest qw(run start_bg stop_pid wait_port need_bin slurp repo_root
              make_certs);

our @EXPORT_OK = qw(run slurp need_bin);

our $NGINX = $ENV{ZT_NGINX} || '/usr/sbin/nginx';
our $STREAM_SO = defined $ENV{ZT_STREAM_SO} ? $ENV{ZT_STREAM_SO}
                : '/usr/lib/nginx/modules/ngx_stream_module.so';

my @instances;

sub new {
    my ($class, %opt) = @_;

    my $root = repo_root();
    my $self = bless {
        root   => $root,
        stream => $opt{stream} ? 1 : 0,
        ports  => {},
        pid    => undef,
    }, $class;

    die "nginx not found at $NGINX\n" unless -x $NGINX;

    my $mods = $ENV{ZT_MODULES} || "$root/build";
    $self->{http_so} = "$mods/ngx_http_zigtls_module.so";
    $self->{stream_so} = "$mods/ngx_stream_zigtls_module.so";

    _build_modules($root) unless $ENV{ZT_MODULES};
    die "$self->{http_so} missing: 'make module' failed\n"
        unless -f $self->{http_so};
    if ($self->{stream}) {
        die "$self->{stream_so} missing: run 'make module' first\n"
            unless -f $self->{stream_so};
        die "$STREAM_SO missing: install libnginx-mod-stream\n"
            unless $STREAM_SO eq '' || -f $STREAM_SO;
    }

    $self->{dir} = tempdir('zt-nginx-XXXXXX', TMPDIR => 1,
                           CLEANUP => !$ENV{ZT_KEEP});
    chmod(0755, $self->{dir});
    make_path("$self->{dir}/$_") for qw(conf logs html certs tmp);

    push @instances, $self;
    return $self;
}

# (Re)build the modules when they are missing or older than their sources
# (the glue, config, or the core) with "make module".
sub _build_modules {
    my ($root) = @_;
    return if $ENV{ZT_NO_BUILD};
    my $so = "$root/build/ngx_http_zigtls_module.so";
    my $so2 = "$root/build/ngx_stream_zigtls_module.so";
    my @src = (glob("$root/ngx_*.[ch]"), "$root/config", "$root/ngx_zigtls.map",
               glob("$root/src/*.[ch]"));
    my $newest = 0;
    for (@src) { my $m = (stat $_)[9] || 0; $newest = $m if $m > $newest; }
    my $have = -f $so && -f $so2
               ? ((stat $so)[9] < (stat $so2)[9] ? (stat $so)[9] : (stat $so2)[9])
               : 0;
    return if $have && $have >= $newest;

    # "make module" serializes itself (flock) and replaces the .so files
    # atomically
    my $r = run(['make', '-C', $root, '--no-print-directory', 'module'], 600);
    die "make module failed:\n" . substr($r->{all}, -3000) . "\n"
        unless $r->{ok};
}

sub dir { $_[0]->{dir} }

# Port number $n of this test: 20000 + an offset derived from the pid,
# checked to be free; stable for the whole test.
sub port {
    my ($self, $n) = @_;
    $n ||= 0;
    return $self->{ports}{$n} if $self->{ports}{$n};

    my %taken = map { $_ => 1 } values %{ $self->{ports} };
    my $base = 20000 + ($$ % 2000) * 16 + $n;

    for my $try (0 .. 200) {
        my $p = $base + $try * 7;
        $p = 20000 + ($p - 20000) % 40000;
        next if $taken{$p};
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $p, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 1);
        next unless $s;
        close($s);
        return $self->{ports}{$n} = $p;
    }
    die "no free port found near $base\n";
}

sub write_file {
    my ($self, $name, $content) = @_;
    my $file = $name =~ m{^/} ? $name : "$self->{dir}/$name";
    (my $d = $file) =~ s{/[^/]*$}{};
    make_path($d) unless -d $d;
    open(my $fh, '>', $file) or die "write $file: $!\n";
    binmode($fh);
    print $fh $content;
    close($fh) or die "write $file: $!\n";
    return $file;
}

sub read_file {
    my ($self, $name) = @_;
    return slurp($name =~ m{^/} ? $name : "$self->{dir}/$name");
}

# Ed25519, ECDSA P-256 and RSA-2048 certificates for "localhost" in certs/.
sub certs {
    my ($self) = @_;
    $self->{certs} ||= make_certs("$self->{dir}/certs");
    return $self->{certs};
}

# One certificate: type (ec, rsa, rsa1024, ed25519, p384), CN and SANs;
# expired => 1 makes one that expired long ago.
sub cert {
    my ($self, $name, %o) = @_;
    my $type = $o{type} || 'ec';
    my $cn = $o{cn} || 'localhost';
    my @san = @{ $o{san} || ["DNS:$cn"] };
    my $crt = "$self->{dir}/certs/$name.crt";
    my $key = "$self->{dir}/certs/$name.key";

    my %newkey = (
        ec      => ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
        p384    => ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
        rsa     => ['-newkey', 'rsa:2048'],
        rsa1024 => ['-newkey', 'rsa:1024'],
        ed25519 => ['-newkey', 'ed25519'],
        ed448   => ['-newkey', 'ed448'],
    );
    die "cert: unknown type $type\n" unless $newkey{$type};

    my $r;
    if ($o{expired}) {
        # a CSR signed by openssl ca with explicit dates in the past
        my $ca = "$self->{dir}/certs/$name-ca";
        make_path("$ca/new");
        $self->write_file("$ca/index.txt", '');
        $self->write_file("$ca/serial", "1000\n");
        $self->write_file("$ca/ca.cnf", <<"EOF");
[ca]
default_ca = zt
[zt]
dir = $ca
database = $ca/index.txt
new_certs_dir = $ca/new
serial = $ca/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
EOF
        $r = run(['openssl', 'req', '-new', @{ $newkey{$type} }, '-nodes',
                  '-keyout', $key, '-out', "$ca/req.csr",
                  '-subj', "/CN=$cn",
                  '-addext', 'subjectAltName=' . join(',', @san)], 60);
        die "openssl req: $r->{all}\n" unless $r->{ok};
        $r = run(['openssl', 'ca', '-batch', '-selfsign', '-config',
                  "$ca/ca.cnf", '-keyfile', $key, '-in', "$ca/req.csr",
                  '-out', $crt, '-startdate', '20200101000000Z',
                  '-enddate', '20200201000000Z', '-notext'], 60);
        die "openssl ca: $r->{all}\n" unless $r->{ok} && -s $crt;
        return { cert => $crt, key => $key };
    }

    $r = run(['openssl', 'req', '-x509', @{ $newkey{$type} }, '-nodes',
              '-keyout', $key, '-out', $crt, '-days', '30',
              '-subj', "/CN=$cn",
              '-addext', 'subjectAltName=' . join(',', @san)], 60);
    die "openssl req ($type): $r->{all}\n" unless $r->{ok} && -s $crt;
    return { cert => $crt, key => $key };
}

sub _expand {
    my ($self, $text) = @_;
    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $text =~ s/%%DIR%%/$self->{dir}/g;
    $text =~ s/%%CERTS%%/$self->{dir}\/certs/g;
    return $text;
}

# The test's configuration after a common prelude (modules, pid, logs,
# temp paths inside the test directory).
sub write_conf {
    my ($self, $body, %o) = @_;
    my $d = $self->{dir};
    my $pre = "load_module $self->{http_so};\n";
    if ($self->{stream}) {
        $pre .= "load_module $STREAM_SO;\n" if $STREAM_SO ne '';
        $pre .= "load_module $self->{stream_so};\n";
    }
    $pre .= "user root;\n" if $> == 0;
    $pre .= <<"EOF";
daemon off;
worker_processes ${\ ($o{workers} || 1)};
pid $d/logs/nginx.pid;
error_log $d/logs/error.log ${\ ($o{log_level} || 'info')};
events { worker_connections 1024; }
EOF
    $body = $self->_expand($body);
    # temp paths of http{} inside the test directory
    $body =~ s/^(\s*http\s*\{)/$1
    client_body_temp_path $d\/tmp\/body;
    proxy_temp_path $d\/tmp\/proxy;
    fastcgi_temp_path $d\/tmp\/fastcgi;
    uwsgi_temp_path $d\/tmp\/uwsgi;
    scgi_temp_path $d\/tmp\/scgi;
/m;
    $self->{conf} = $self->write_file($o{file} || 'conf/nginx.conf',
                                      $pre . $body);
    $self->{conf_text} = $pre . $body;
    return $self->{conf};
}

# nginx -t on the current configuration: the ZtTest::run result.
sub test_config {
    my ($self, $conf) = @_;
    return run([$NGINX, '-p', "$self->{dir}/", '-c',
                $conf || $self->{conf}, '-t'], 30);
}

# Start nginx in the foreground (daemon off) as our child; wait for each
# port that the configuration listens on. Dies (fails the test) otherwise.
sub start {
    my ($self, %o) = @_;
    die "start: no configuration written\n" unless $self->{conf};
    die "start: already running\n" if $self->{pid};

    unlink("$self->{dir}/logs/nginx.pid");
    # ZT_VALGRIND=1: every nginx process runs under valgrind's memcheck;
    # stop() fails the test on any invalid access it reports
    my @vg = $ENV{ZT_VALGRIND}
             ? ('valgrind', '--trace-children=yes', '--quiet',
                "--log-file=$self->{dir}/logs/valgrind.%p.log")
             : ();
    # ZT_ASAN=1 (with ZT_MODULES=build-asan-module, "make module-asan"):
    # nginx is not instrumented, so the ASan runtime is preloaded into it;
    # leak checking is off (nginx frees its pools at exit, not one by one;
    # the master's and workers' memory is the kernel's to take back);
    # reports go to logs/asan.PID and logs/ubsan.PID, and stop() fails
    # the test on any
    if ($ENV{ZT_ASAN}) {
        chomp(my $rt = `gcc -print-file-name=libasan.so`);
        my $d = $self->{dir};
        @vg = ('env', "LD_PRELOAD=$rt",
               "ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:"
               . "log_path=$d/logs/asan",
               "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:"
               . "log_path=$d/logs/ubsan");
    }
    my $wait = $ENV{ZT_VALGRIND} ? 60 : 10;
    $self->{pid} = start_bg({ stdout => "$self->{dir}/logs/stderr.log",
                              stderr => "$self->{dir}/logs/stderr.log" },
                            @vg, $NGINX, '-p', "$self->{dir}/", '-c',
                            $self->{conf});

    my @ports = ($self->{conf_text} =~ /listen\s+127\.0\.0\.1:(\d+)/g);
    for my $p (@ports) {
        next if wait_port($p, $wait);
        my $log = $self->read_file('logs/error.log')
                  . $self->read_file('logs/stderr.log');
        $self->stop;
        die "nginx did not listen on $p within 10s:\n$log\n";
    }

    # the pid file appears once the master is set up
    my $deadline = time + 10;
    while (time < $deadline && !-s "$self->{dir}/logs/nginx.pid") {
        sleep(0.02);
    }
    return $self;
}

sub pid { $_[0]->{pid} }

sub signal {
    my ($self, $sig) = @_;
    kill($sig, $self->{pid}) if $self->{pid};
}

sub running {
    my ($self) = @_;
    return 0 unless $self->{pid};
    my $r = waitpid($self->{pid}, WNOHANG);
    if ($r == $self->{pid}) { $self->{pid} = undef; return 0; }
    return 1;
}

# Graceful stop (QUIT) bounded by $secs, then TERM/KILL.
sub stop {
    my ($self, $secs) = @_;
    return unless $self->{pid};
    my $pid = $self->{pid};
    kill('QUIT', $pid);
    my $deadline = time + ($secs || ($ENV{ZT_VALGRIND} ? 60 : 10));
    while (time < $deadline) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid || $r < 0) {
            my $st = $?;
            $self->{pid} = undef;
            if ($ENV{ZT_VALGRIND}) {
                my $e = $self->valgrind_errors;
                Test::More::is($e, '', 'valgrind: no memory errors')
                    if $INC{'Test/More.pm'};
            }
            if ($ENV{ZT_ASAN}) {
                my $e = $self->sanitizer_reports;
                Test::More::is($e, '', 'ASan+UBSan: no report')
                    if $INC{'Test/More.pm'};
            }
            return $st;
        }
        sleep(0.02);
    }
    my $st = stop_pid($pid, 3);
    $self->{pid} = undef;
    return $st;
}

# Under ZT_VALGRIND: what memcheck reported (invalid reads/writes, use of
# uninitialised values), as text; empty when clean.
sub valgrind_errors {
    my ($self) = @_;
    my $out = '';
    for my $f (glob("$self->{dir}/logs/valgrind.*.log")) {
        my $txt = slurp($f);
        $out .= "$f:\n$txt\n"
            if $txt =~ /Invalid (read|write|free)|uninitialised|Process terminating/;
    }
    return $out;
}

# Under ZT_ASAN: what AddressSanitizer and UBSan reported, as text; empty
# when clean.
sub sanitizer_reports {
    my ($self) = @_;
    my $out = '';
    for my $f (glob("$self->{dir}/logs/asan.*"), glob("$self->{dir}/logs/ubsan.*")) {
        my $txt = slurp($f);
        $out .= "$f:\n$txt\n" if $txt =~ /\S/;
    }
    return $out;
}

sub error_log { $_[0]->read_file('logs/error.log') }

# curl against https://127.0.0.1:PORT_0 (or $o{port}); extra args first.
sub curl {
    my ($self, $path, @args) = @_;
    my $port = $self->port(0);
    my $url = $path =~ m{^https?://} ? $path
              : "https://127.0.0.1:$port$path";
    return run(['curl', '-sS', '-k', '--max-time', '20', @args, $url], 30);
}

# Run a Python 3 program (given as text) with arguments: the run result.
sub python {
    my ($self, $code, @args) = @_;
    my $f = $self->write_file('tmp/prog-' . (++$self->{nprog}) . '.py',
                              $code);
    return run(['python3', $f, @args], $self->{python_timeout} || 60);
}

END {
    local $?;
    for my $t (@instances) {
        $t->stop(5) if $t->{pid};
    }
}

1;
