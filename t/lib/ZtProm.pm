package ZtProm;

# A strict parser of the Prometheus text exposition format (0.0.4) for the
# operations tests: anything a scraper could trip over is an error.
#
#   my $m = ZtProm::parse($text);       # dies with the line on any error
#   $m->{families}{NAME}{type}          # counter, gauge, histogram, ...
#   ZtProm::value($m, 'zigtls_handshakes_failed_total', reason => 'timeout')
#   ZtProm::sum($m, 'zigtls_handshakes_failed_total')   # over all series
#
# Checked: HELP and TYPE once per family and before its samples; samples
# of a family contiguous; metric and label name grammar, no "__" labels;
# label values with only \\ \" \n escapes; values are floats (or +Inf,
# -Inf, NaN); no duplicate series; counters end in _total and only
# counters do; histograms have _bucket{le} (ascending, cumulative, ending
# with +Inf equal to _count), _sum and _count; the text ends with "\n".

use strict;
use warnings;

my $NAME = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $VALUE = qr/(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]Inf|NaN)/;

sub _num {
    my ($v) = @_;
    return 9**9**9 if $v eq '+Inf';
    return -9**9**9 if $v eq '-Inf';
    return 0 + $v;
}

sub _family_of {
    my ($fam, $name) = @_;
    return $name if $fam->{$name};
    for my $suf (qw(_bucket _sum _count)) {
        (my $base = $name) =~ s/\Q$suf\E$// or next;
        return $base if $fam->{$base} && $fam->{$base}{type} eq 'histogram';
    }
    return undef;
}

sub parse {
    my ($text) = @_;
    die "empty exposition\n" unless length $text;
    die "exposition does not end with a newline\n" unless $text =~ /\n\z/;

    my (%fam, %seen_series, %closed);
    my $cur;
    my $n = 0;

    for my $line (split /\n/, $text) {
        $n++;
        my $where = "line $n: '$line'";
        die "empty line ($where)\n" if $line eq '';

        if ($line =~ /^#/) {
            if ($line =~ /^# HELP ($NAME) (.*)$/) {
                my ($name, $help) = ($1, $2);
                die "HELP twice for $name ($where)\n"
                    if $fam{$name} && defined $fam{$name}{help};
                die "bad escape in HELP ($where)\n"
                    if $help =~ /\\[^\\n]/;
                die "family $name is split ($where)\n" if $closed{$name};
                $fam{$name}{help} = $help;
                $fam{$name}{samples} ||= [];
                $closed{$cur} = 1 if defined $cur && $cur ne $name;
                $cur = $name;
            } elsif ($line =~ /^# TYPE ($NAME) (counter|gauge|histogram|summary|untyped)$/) {
                my ($name, $type) = ($1, $2);
                die "TYPE twice for $name ($where)\n"
                    if $fam{$name} && defined $fam{$name}{type};
                die "TYPE after samples for $name ($where)\n"
                    if $fam{$name} && @{ $fam{$name}{samples} || [] };
                die "family $name is split ($where)\n" if $closed{$name};
                $fam{$name}{type} = $type;
                $fam{$name}{samples} ||= [];
                $closed{$cur} = 1 if defined $cur && $cur ne $name;
                $cur = $name;
            } else {
                die "unexpected comment ($where)\n";
            }
            next;
        }

        $line =~ /^($NAME)(?:\{(.*)\})? ($VALUE)(?: (-?\d+))?$/
            or die "malformed sample ($where)\n";
        my ($name, $lab, $value) = ($1, $2, $3);

        my %labels;
        if (defined $lab && length $lab) {
            my $rest = $lab;
            while (length $rest) {
                $rest =~ s/^($LABEL)="((?:[^"\\\n]|\\[\\"n])*)"// or
                    die "malformed labels ($where)\n";
                my ($k, $v) = ($1, $2);
                die "reserved label name $k ($where)\n" if $k =~ /^__/;
                die "duplicate label $k ($where)\n" if exists $labels{$k};
                $v =~ s/\\(["\\n])/$1 eq 'n' ? "\n" : $1/ge;
                $labels{$k} = $v;
                last unless length $rest;
                $rest =~ s/^,// or die "malformed labels ($where)\n";
            }
        }

        my $f = _family_of(\%fam, $name);
        die "sample without TYPE ($where)\n"
            unless defined $f && defined $fam{$f}{type};
        die "sample without HELP ($where)\n" unless defined $fam{$f}{help};
        die "samples of $f are not contiguous ($where)\n"
            if $closed{$f} || (defined $cur && $cur ne $f);

        my $key = join("\0", $name,
                       map { "$_=$labels{$_}" } sort keys %labels);
        die "duplicate series ($where)\n" if $seen_series{$key}++;

        push @{ $fam{$f}{samples} },
            { name => $name, labels => \%labels, value => _num($value),
              raw => $value };
    }

    for my $f (sort keys %fam) {
        my $t = $fam{$f}{type};
        die "family $f has no TYPE\n" unless defined $t;
        die "family $f has no HELP\n" unless defined $fam{$f}{help};
        if ($t eq 'counter') {
            die "counter $f does not end in _total\n" unless $f =~ /_total$/;
            for (@{ $fam{$f}{samples} }) {
                die "counter $f is negative\n" if $_->{value} < 0;
            }
        } else {
            die "$t $f ends in _total\n" if $f =~ /_total$/;
        }
        if ($t eq 'histogram') {
            _check_histogram($f, $fam{$f}{samples});
        } else {
            for (@{ $fam{$f}{samples} }) {
                die "sample $_->{name} in family $f\n" if $_->{name} ne $f;
            }
        }
    }

    return { families => \%fam };
}

sub _check_histogram {
    my ($f, $samples) = @_;
    my (%groups);
    for my $s (@$samples) {
        my %l = %{ $s->{labels} };
        my $le = delete $l{le};
        my $g = join("\0", map { "$_=$l{$_}" } sort keys %l);
        if ($s->{name} eq "${f}_bucket") {
            die "$f: bucket without le\n" unless defined $le;
            push @{ $groups{$g}{buckets} }, [$le, $s->{value}];
        } elsif ($s->{name} eq "${f}_sum") {
            die "$f: le on _sum\n" if defined $le;
            $groups{$g}{sum} = $s->{value};
        } elsif ($s->{name} eq "${f}_count") {
            die "$f: le on _count\n" if defined $le;
            $groups{$g}{count} = $s->{value};
        } else {
            die "$f: unexpected sample $s->{name}\n";
        }
    }
    die "$f: no series\n" unless %groups;
    for my $g (values %groups) {
        my @b = @{ $g->{buckets} || [] };
        die "$f: no buckets\n" unless @b;
        die "$f: last bucket is not +Inf\n" unless $b[-1][0] eq '+Inf';
        my ($ple, $pv) = (-9**9**9, 0);
        for (@b) {
            my $le = _num($_->[0]);
            die "$f: le $_->[0] not ascending\n" unless $le > $ple;
            die "$f: bucket le=$_->[0] not cumulative\n" if $_->[1] < $pv;
            ($ple, $pv) = ($le, $_->[1]);
        }
        die "$f: no _count\n" unless defined $g->{count};
        die "$f: no _sum\n" unless defined $g->{sum};
        die "$f: +Inf bucket $b[-1][1] != _count $g->{count}\n"
            unless $b[-1][1] == $g->{count};
    }
}

# The value of one series (labels must match exactly); undef if absent.
sub value {
    my ($m, $name, %labels) = @_;
    my $f = _family_of($m->{families}, $name) or return undef;
    my $want = join("\0", map { "$_=$labels{$_}" } sort keys %labels);
    for my $s (@{ $m->{families}{$f}{samples} }) {
        next unless $s->{name} eq $name;
        my $have = join("\0", map { "$_=$s->{labels}{$_}" }
                               sort keys %{ $s->{labels} });
        return $s->{value} if $have eq $want;
    }
    return undef;
}

# Sum over every series of a name whose labels include %match.
sub sum {
    my ($m, $name, %match) = @_;
    my $f = _family_of($m->{families}, $name) or return undef;
    my $t = 0;
    S: for my $s (@{ $m->{families}{$f}{samples} }) {
        next unless $s->{name} eq $name;
        for (keys %match) {
            next S unless ($s->{labels}{$_} // '') eq $match{$_};
        }
        $t += $s->{value};
    }
    return $t;
}

1;
