#!/bin/sh
# Writes the client-certificate fixtures of t/unit (test-only keys). Run
# from t/unit/certs; the output is committed, the unit tests never call
# openssl themselves. Validity: 2025-01-01 to 2125-01-01 (the tests judge
# certificates at fixed times through the wall clock).
#
#   client-ca        the trusted CA (P-256), with client-ca.crl (revokes
#                    client-revoked) and client-int (an intermediate CA)
#   client-p256 / client-ed25519 / client-rsa      leaves, clientAuth
#   client-deep      issued by client-int (chain: client-deep-chain.crt)
#   client-server    extendedKeyUsage serverAuth only
#   client-revoked   on client-ca.crl
#   client-self      self-signed, clientAuth
#   other-ca, client-foreign   a CA nobody trusts, and its leaf
set -eu
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
START=20250101000000Z
END=21250101000000Z

key() { # name type
    case $2 in
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$1.key" ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" ;;
    esac
}

# sign name subject issuer extensions...
sign() {
    n=$1 subj=$2 iss=$3
    shift 3
    printf '%s\n' "$@" >"$T/$n.ext"
    openssl req -new -key "$n.key" -subj "$subj" -out "$T/$n.csr"
    if [ "$iss" = self ]; then
        ik=$n.key ic=
    else
        ik=$iss.key ic="-cert $iss.crt"
    fi
    # openssl ca keeps the dates exact and the serials ours
    mkdir -p "$T/ca-$iss"
    [ -f "$T/ca-$iss/index" ] || : >"$T/ca-$iss/index"
    [ -f "$T/ca-$iss/serial" ] || printf '1000\n' >"$T/ca-$iss/serial"
    cat >"$T/ca-$iss/cnf" <<EOF
[ca]
default_ca = d
[d]
database = $T/ca-$iss/index
serial = $T/ca-$iss/serial
new_certs_dir = $T
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
organizationName = optional
EOF
    if [ "$iss" = self ]; then
        openssl ca -batch -config "$T/ca-$iss/cnf" -selfsign -keyfile "$ik" \
            -in "$T/$n.csr" -out "$n.crt" -startdate $START -enddate $END \
            -extfile "$T/$n.ext" -notext 2>/dev/null
    else
        # shellcheck disable=SC2086
        openssl ca -batch -config "$T/ca-$iss/cnf" -keyfile "$ik" $ic \
            -in "$T/$n.csr" -out "$n.crt" -startdate $START -enddate $END \
            -extfile "$T/$n.ext" -notext 2>/dev/null
    fi
}

CA="basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash"
LEAF="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"

key client-ca p256
sign client-ca "/O=zigtls test/CN=zigtls client CA" self $CA
key other-ca p256
sign other-ca "/O=zigtls test/CN=zigtls other CA" self $CA
key client-int p256
sign client-int "/O=zigtls test/CN=zigtls client intermediate" client-ca $CA

key client-p256 p256
sign client-p256 "/O=zigtls test/CN=client p256" client-ca $LEAF
key client-ed25519 ed25519
sign client-ed25519 "/O=zigtls test/CN=client ed25519" client-ca $LEAF
key client-rsa rsa
sign client-rsa "/O=zigtls test/CN=client rsa" client-ca $LEAF
key client-revoked p256
sign client-revoked "/O=zigtls test/CN=client revoked" client-ca $LEAF
key client-server p256
sign client-server "/O=zigtls test/CN=client serverAuth" client-ca \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth"
key client-deep p256
sign client-deep "/O=zigtls test/CN=client deep" client-int $LEAF
cat client-deep.crt client-int.crt >client-deep-chain.crt
key client-foreign p256
sign client-foreign "/O=zigtls test/CN=client foreign" other-ca $LEAF
key client-self p256
sign client-self "/O=zigtls test/CN=client self-signed" self \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth"

# the CA's CRL: client-revoked is on it
openssl ca -config "$T/ca-client-ca/cnf" -keyfile client-ca.key \
    -cert client-ca.crt -revoke client-revoked.crt 2>/dev/null
openssl ca -config "$T/ca-client-ca/cnf" -keyfile client-ca.key \
    -cert client-ca.crt -gencrl -crldays 36500 -out client-ca.crl 2>/dev/null
# and one for the intermediate (CRL checking covers every issuer)
openssl ca -config "$T/ca-client-int/cnf" -keyfile client-int.key \
    -cert client-int.crt -gencrl -crldays 36500 -out client-int.crl 2>/dev/null
