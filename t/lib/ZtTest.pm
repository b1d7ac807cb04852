package ZtTest;

# Helpers shared by the end-to-end tests (t/*.t). Everything here is bounded
# in time: no helper can hang a test run.
#
#   use lib 't/lib'; use ZtTest qw(...);
#
#   my $c = make_certs($dir);    # {ed25519|ecdsa|rsa => {cert => F, key => F}}
#   my $port = free_port();      # an unused TCP port on 127.0.0.1
#   wait_port($port, $secs)      # 1 once something accepts there, 0 on timeout
#   my $pid = start_bg(@cmd);    # or start_bg({stdout => F, stderr => F}, @cmd)
#   stop_pid($pid, $secs)        # TERM, then KILL after $secs; returns $?
#   my $r = run(\@cmd, $secs, stdin => $data, until => qr/.../, env => {...});
#       # $r->{out}, $r->{err}, $r->{all} (stdout then stderr),
#       # $r->{exit} (-1 if killed by a signal), $r->{signal},
#       # $r->{timed_out}, $r->{ok} (exit 0 and not timed out)
#   my $bin = need_bin('gnutls-cli');   # dies loudly if a tool is missing
#   my $txt = slurp($file);
#   my $dir = repo_root();
#
# Keep this API stable: other tests (the nginx ones too) use it.

use strict;
use warnings;

use Cwd qw(abs_path);
use Errno qw(EINTR EAGAIN);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h setsid _exit);
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(make_certs free_port wait_port start_bg stop_pid run
                    need_bin slurp repo_root openssl_conf);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our $VERSION = '1.0';

# The repository root (the directory holding t/).
sub repo_root {
    return abs_path(dirname(__FILE__) . '/../..');
}

sub slurp {
    my ($file) = @_;
    open(my $fh, '<', $file) or return '';
    local $/;
    my $s = <$fh>;
    close($fh);
    return defined $s ? $s : '';
}

# Full path of a required program; dies (so the test fails, loudly) when
# it is not installed.
sub need_bin {
    my ($name) = @_;
    for my $d (split /:/, ($ENV{PATH} || '/usr/bin:/bin')) {
        next unless length $d;
        return "$d/$name" if -x "$d/$name" && !-d "$d/$name";
    }
    die "required program '$name' not found in PATH ($ENV{PATH})\n";
}

# Generate three self-signed certificates for CN=localhost with the SAN
# DNS:localhost and IP:127.0.0.1: Ed25519, ECDSA P-256 and RSA-2048.
# Returns { ed25519 => {cert, key}, ecdsa => {cert, key}, rsa => {cert, key} }.
sub make_certs {
    my ($dir) = @_;
    make_path($dir) unless -d $dir;
    my %kinds = (
        ed25519 => ['-newkey', 'ed25519'],
        ecdsa   => ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
        rsa     => ['-newkey', 'rsa:2048'],
    );
    my %out;
    for my $k (sort keys %kinds) {
        my $cert = "$dir/$k.crt";
        my $key  = "$dir/$k.key";
        my $r = run(['openssl', 'req', '-x509', @{ $kinds{$k} }, '-nodes',
                     '-keyout', $key, '-out', $cert, '-days', '30',
                     '-subj', '/CN=localhost',
                     '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
                     '-addext', 'basicConstraints=critical,CA:FALSE',
                     '-addext', 'keyUsage=critical,digitalSignature',
                     '-addext', 'extendedKeyUsage=serverAuth'], 60);
        die "openssl req ($k) failed: $r->{all}\n"
            unless $r->{ok} && -s $cert && -s $key;
        $out{$k} = { cert => $cert, key => $key };
    }
    return \%out;
}

# A TCP port that was free on 127.0.0.1 a moment ago (bind to 0, read it
# back). Ports handed out in one process are never repeated.
my %given;
sub free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 1)
            or die "free_port: $!\n";
        my $p = $s->sockport;
        close($s);
        next if $given{$p}++;
        return $p;
    }
    die "free_port: no free port found\n";
}

# Wait until something accepts TCP connections on 127.0.0.1:$port, at most
# $timeout seconds. Returns 1 on success, 0 on timeout.
sub wait_port {
    my ($port, $timeout, $host) = @_;
    $timeout = 10 unless defined $timeout;
    $host = '127.0.0.1' unless defined $host;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                      Proto => 'tcp', Timeout => 1);
        if ($s) {
            close($s);
            return 1;
        }
        sleep(0.05);
    }
    return 0;
}

# Start a command in the background (its own process group) and return its
# pid. An optional leading hashref redirects: {stdout => FILE, stderr =>
# FILE} (appending; the same file for both is fine), {stdin => FILE}.
sub start_bg {
    my $opt = ref $_[0] eq 'HASH' ? shift : {};
    my @cmd = @_;
    die "start_bg: no command\n" unless @cmd;
    my $pid = fork();
    die "start_bg: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        setpgrp(0, 0);
        my $in = defined $opt->{stdin} ? $opt->{stdin} : '/dev/null';
        open(STDIN, '<', $in) or _exit(126);
        if (defined $opt->{stdout}) {
            open(STDOUT, '>>', $opt->{stdout}) or _exit(126);
        }
        if (defined $opt->{stderr}) {
            open(STDERR, '>>', $opt->{stderr}) or _exit(126);
        }
        select(STDERR); $| = 1; select(STDOUT); $| = 1;
        { no warnings q(exec); exec { $cmd[0] } @cmd; }
        print STDERR "start_bg: exec $cmd[0]: $!\n";
        _exit(127);
    }
    return $pid;
}

# Stop a process started by start_bg: SIGTERM, wait up to $timeout seconds,
# then SIGKILL (to its whole process group). Returns the wait status ($?),
# or -1 if the process was not ours / already reaped.
sub stop_pid {
    my ($pid, $timeout) = @_;
    return -1 unless $pid && $pid > 0;
    $timeout = 5 unless defined $timeout;
    my $r = waitpid($pid, WNOHANG);
    return $? if $r == $pid;
    return -1 if $r < 0;
    kill('TERM', $pid);
    my $deadline = time + $timeout;
    while (time < $deadline) {
        $r = waitpid($pid, WNOHANG);
        return $? if $r == $pid;
        return -1 if $r < 0;
        sleep(0.02);
    }
    kill('KILL', -$pid);
    kill('KILL', $pid);
    $deadline = time + 5;
    while (time < $deadline) {
        $r = waitpid($pid, WNOHANG);
        return $? if $r == $pid;
        return -1 if $r < 0;
        sleep(0.02);
    }
    return -1;
}

# Run a command with a hard timeout, capturing stdout and stderr.
#   run(\@argv, $timeout, %opt)   exec without a shell
#   run($string, $timeout, %opt)  through /bin/sh -c
# Options:
#   stdin => $bytes     written to the command's stdin
#   until => qr/.../    keep stdin open after writing it until the output
#                       (stdout or stderr) matches, or the process exits;
#                       then close stdin (for clients that quit on EOF)
#   hold  => $secs      otherwise keep stdin open this long after writing
#   dialog => [$bytes, qr/wait/, $bytes, ...]
#                       like expect: write each string, and before going on
#                       past a regex wait until the output matches it; then
#                       stdin is handled as above (until / hold / closed)
#   env   => {K => V}   extra environment (undef value deletes)
# The process runs in its own process group; on timeout the group is killed.
sub run {
    my ($cmd, $timeout, %opt) = @_;
    $timeout = 30 unless defined $timeout;
    my @argv = ref $cmd eq 'ARRAY' ? @$cmd : ('/bin/sh', '-c', $cmd);

    pipe(my $out_r, my $out_w) or die "run: pipe: $!\n";
    pipe(my $err_r, my $err_w) or die "run: pipe: $!\n";
    pipe(my $in_r, my $in_w) or die "run: pipe: $!\n";

    my $pid = fork();
    die "run: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        setpgrp(0, 0);
        close($out_r); close($err_r); close($in_w);
        open(STDIN, '<&', $in_r) or _exit(126);
        open(STDOUT, '>&', $out_w) or _exit(126);
        open(STDERR, '>&', $err_w) or _exit(126);
        if ($opt{env}) {
            for my $k (keys %{ $opt{env} }) {
                if (defined $opt{env}{$k}) { $ENV{$k} = $opt{env}{$k} }
                else { delete $ENV{$k} }
            }
        }
        { no warnings q(exec); exec { $argv[0] } @argv; }
        print STDERR "run: exec $argv[0]: $!\n";
        _exit(127);
    }
    close($out_w); close($err_w); close($in_r);

    my $stdin = defined $opt{stdin} ? $opt{stdin} : '';
    my @steps = $opt{dialog} ? @{ $opt{dialog} } : ();
    my $in_open = 1;
    my $in_done_at;
    local $SIG{PIPE} = 'IGNORE';
    for my $fh ($in_w, $out_r, $err_r) {
        my $fl = fcntl($fh, POSIX::F_GETFL(), 0);
        fcntl($fh, POSIX::F_SETFL(), $fl | POSIX::O_NONBLOCK());
    }
    my ($out, $err) = ('', '');
    my %open = (out => $out_r, err => $err_r);
    my $deadline = time + $timeout;
    my $timed_out = 0;
    my $status;

    my $close_in = sub {
        if ($in_open) { close($in_w); $in_open = 0; }
    };
    $close_in->() if !length $stdin && !@steps && !$opt{until} && !$opt{hold};

    while (1) {
        my $left = $deadline - time;
        if ($left <= 0) { $timed_out = 1; last; }
        while ($in_open && !length $stdin && @steps) {
            if (ref $steps[0] eq 'Regexp') {
                last unless ($out . $err) =~ $steps[0];
                shift @steps;
            } else {
                $stdin .= shift @steps;
            }
        }
        if ($in_open && !length $stdin && !@steps) {
            $in_done_at = time unless defined $in_done_at;
            if ($opt{until}) {
                $close_in->() if ($out . $err) =~ $opt{until};
            } elsif ($opt{hold}) {
                $close_in->() if time - $in_done_at >= $opt{hold};
            } else {
                $close_in->();
            }
        }
        my $rs = IO::Select->new(values %open);
        my $ws = IO::Select->new($in_open && length $stdin ? ($in_w) : ());
        if (!%open) {
            # output closed: only the exit remains
            my $r = waitpid($pid, WNOHANG);
            if ($r == $pid) { $status = $?; last; }
            sleep(0.01);
            next;
        }
        my ($rr, $wr) = IO::Select->select($rs, $ws, undef,
                                           $left < 0.1 ? $left : 0.1);
        for my $fh (@{ $wr || [] }) {
            my $n = syswrite($fh, $stdin);
            if (defined $n) { substr($stdin, 0, $n, ''); }
            elsif ($! != EAGAIN && $! != EINTR) { $stdin = ''; $close_in->(); }
        }
        for my $fh (@{ $rr || [] }) {
            my $buf;
            my $n = sysread($fh, $buf, 65536);
            next if !defined $n && ($! == EAGAIN || $! == EINTR);
            my $which = $fh == $out_r ? 'out' : 'err';
            if (!$n) { close($fh); delete $open{$which}; next; }
            if ($which eq 'out') { $out .= $buf } else { $err .= $buf }
        }
        if (!%open || (!$rr || !@$rr)) {
            my $r = waitpid($pid, WNOHANG);
            if ($r == $pid) {
                $status = $?;
                # collect what is still buffered in the pipes
                for my $which (keys %open) {
                    my $fh = $open{$which};
                    while (1) {
                        my $n = sysread($fh, my $buf, 65536);
                        last unless $n;
                        if ($which eq 'out') { $out .= $buf }
                        else { $err .= $buf }
                    }
                }
                last;
            }
        }
    }
    $close_in->();
    if ($timed_out) {
        kill('KILL', -$pid);
        kill('KILL', $pid);
        my $end = time + 5;
        while (time < $end) {
            my $r = waitpid($pid, WNOHANG);
            if ($r == $pid || $r < 0) { $status = $?; last; }
            sleep(0.01);
        }
    }
    close($_) for values %open;
    $status = -1 unless defined $status;
    my $exit = ($status == -1 || ($status & 127)) ? -1 : ($status >> 8);
    return {
        out       => $out,
        err       => $err,
        all       => $out . $err,
        status    => $status,
        exit      => $exit,
        signal    => $status == -1 ? 0 : ($status & 127),
        timed_out => $timed_out,
        ok        => (!$timed_out && $exit == 0) ? 1 : 0,
        cmd       => join(' ', @argv),
    };
}

# Write an OpenSSL configuration file that pins the TLS 1.3 parameters of
# every OpenSSL-based client that loads the default configuration (curl,
# Python's ssl): use it as OPENSSL_CONF. Keys: ciphersuites, groups,
# sigalgs (OpenSSL names, colon-separated). Returns the file name.
sub openssl_conf {
    my ($file, %p) = @_;
    open(my $fh, '>', $file) or die "openssl_conf: $file: $!\n";
    print $fh "openssl_conf = zt_conf\n\n[zt_conf]\nssl_conf = zt_ssl\n\n";
    print $fh "[zt_ssl]\nsystem_default = zt_sys\n\n[zt_sys]\n";
    print $fh "MinProtocol = TLSv1.3\n" unless $p{any_version};
    print $fh "Ciphersuites = $p{ciphersuites}\n" if $p{ciphersuites};
    print $fh "Groups = $p{groups}\n" if $p{groups};
    print $fh "SignatureAlgorithms = $p{sigalgs}\n" if $p{sigalgs};
    close($fh) or die "openssl_conf: $file: $!\n";
    return $file;
}

1;
