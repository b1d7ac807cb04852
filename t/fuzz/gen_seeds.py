#!/usr/bin/env python3
"""Write the hand-made seeds of the fuzz corpora (t/fuzz/corpus/<harness>/).

Sources: the RFC 8448 traces (../shared/vectors/rfc8448/*.tsv, or
$ZT_VECTORS/rfc8448), the first flight of real clients captured in
t/fuzz/captures/ (openssl s_client, curl, gnutls-cli, python ssl, each
against a listener that dumped the first record), and malformed variants.
Files are named seed-*; files named by libFuzzer (hashes) are what
`-merge=1` added. Run from the repository root: python3 t/fuzz/gen_seeds.py
"""
import glob, os, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VEC = os.environ.get('ZT_VECTORS', os.path.join(ROOT, '..', 'shared', 'vectors'))
CORPUS = os.path.join(ROOT, 't', 'fuzz', 'corpus')
CAPS = os.path.join(ROOT, 't', 'fuzz', 'captures')


def out(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


def traces():
    for path in sorted(glob.glob(os.path.join(VEC, 'rfc8448', '*.tsv'))):
        rows = []
        for line in open(path):
            if line.startswith('#'):
                continue
            f = line.rstrip('\n').split('\t')
            while len(f) < 6:
                f.append('')
            rows.append(f)
        yield os.path.basename(path).split('-')[0], rows


def records(stream):
    """Split a record stream into (type, fragment)."""
    i = 0
    while i + 5 <= len(stream):
        n = struct.unpack('>H', stream[i + 3:i + 5])[0]
        yield stream[i], stream[i + 5:i + 5 + n]
        i += 5 + n


def ch_bodies_from_capture(data):
    hs = b''.join(frag for t, frag in records(data) if t == 22)
    if len(hs) >= 4 and hs[0] == 1:
        n = int.from_bytes(hs[1:4], 'big')
        return hs[4:4 + n]
    return None


def exts_of(body):
    """(prefix up to extensions, [(type, data)]) of a ClientHello body."""
    i = 2 + 32
    i += 1 + body[i]
    i += 2 + int.from_bytes(body[i:i + 2], 'big')
    i += 1 + body[i]
    n = int.from_bytes(body[i:i + 2], 'big')
    prefix, j, exts = body[:i], i + 2, []
    while j < i + 2 + n:
        t = int.from_bytes(body[j:j + 2], 'big')
        l = int.from_bytes(body[j + 2:j + 4], 'big')
        exts.append((t, body[j + 4:j + 4 + l]))
        j += 4 + l
    return prefix, exts


def build(prefix, exts):
    e = b''.join(struct.pack('>HH', t, len(d)) + d for t, d in exts)
    return prefix + struct.pack('>H', len(e)) + e


def record(t, payload):
    return bytes([t, 3, 1]) + struct.pack('>H', len(payload)) + payload


def hs_msg(t, body):
    return bytes([t]) + len(body).to_bytes(3, 'big') + body


def variants(name, body):
    """Malformed ClientHello bodies derived from a valid one."""
    v = {}
    prefix, exts = exts_of(body)
    v['trunc-half'] = body[:len(body) // 2]
    v['trunc-1'] = body[:-1]
    v['trailing'] = body + b'\x00'
    v['dup-ext'] = build(prefix, exts + [exts[0]])
    v['no-exts'] = prefix
    v['empty-exts'] = prefix + b'\x00\x00'
    v['overlong-exts'] = prefix + b'\xff\xff' + build(b'', exts)[2:]
    v['zero-sid-overlong'] = body[:34] + b'\x21' + body[35:]
    over = [(t, d if t != 10 else b'\xff\xff' + d[2:]) for t, d in exts]
    v['overlong-groups'] = build(prefix, over)
    zero = [(t, b'' if t in (10, 13, 43, 51) else d) for t, d in exts]
    v['zero-len-lists'] = build(prefix, zero)
    v['psk-not-last'] = build(prefix, [(41, b'\x00\x00')] + exts)
    v['no-versions'] = build(prefix, [(t, d) for t, d in exts if t != 43])
    v['tls12-only'] = build(prefix, [(t, d) if t != 43 else (43, b'\x02\x03\x03') for t, d in exts])
    v['bad-comp'] = build(prefix[:-2] + b'\x02\x01\x00', exts)
    v['no-keyshare'] = build(prefix, [(t, d) for t, d in exts if t != 51])
    v['empty-sni'] = build(prefix, [(0, b'\x00\x03\x00\x00\x00')] + [(t, d) for t, d in exts if t != 0])
    v['rsl-small'] = build(prefix, [(28, b'\x00\x3f')] + exts)
    v['cookie'] = build(prefix, exts[:-1] + [(44, b'\x00\x04abcd')] + exts[-1:])
    return {name + '-' + k: d for k, d in v.items()}


def psk_variants(name, body):
    """pre_shared_key, psk_key_exchange_modes and early_data variants of a
    ClientHello that resumes (RFC 8448 section 4's)."""
    prefix, exts = exts_of(body)
    psk = [d for t, d in exts if t == 41][0]
    rest = [(t, d) for t, d in exts if t != 41]
    n = int.from_bytes(psk[:2], 'big')
    ids, binders = psk[2:2 + n], psk[2 + n + 2:]
    b0 = binders[1:1 + binders[0]]

    def offered(ids_, binders_):
        return (struct.pack('>H', len(ids_)) + ids_ +
                struct.pack('>H', len(binders_)) + binders_)
    v = {}
    two = ids + ids
    v['psk-two-ids-one-binder'] = build(prefix, rest + [(41, offered(two, binders))])
    v['psk-two-ids'] = build(prefix, rest + [(41, offered(two, binders + binders))])
    v['psk-binder-31'] = build(prefix, rest + [(41, offered(ids, b'\x1f' + b0[:31]))])
    v['psk-binder-48'] = build(prefix, rest + [(41, offered(ids, b'\x30' + b0 + b0[:16]))])
    v['psk-empty-identity'] = build(prefix, rest + [(41, offered(b'\x00\x00' + ids[-4:] + ids, binders + binders))])
    v['psk-trailing'] = build(prefix, rest + [(41, psk + b'\x00')])
    v['psk-no-modes'] = build(prefix, [(t, d) for t, d in rest if t != 45] + [(41, psk)])
    v['psk-modes-empty'] = build(prefix, [(t, d if t != 45 else b'\x00') for t, d in rest] + [(41, psk)])
    v['psk-ke-only'] = build(prefix, [(t, d if t != 45 else b'\x01\x00') for t, d in rest] + [(41, psk)])
    v['psk-not-last'] = build(prefix, [(41, psk)] + rest)
    v['early-no-psk'] = build(prefix, rest)
    v['early-with-body'] = build(prefix, [(t, d if t != 42 else b'\x00') for t, d in rest] + [(41, psk)])
    v['psk-no-sigalgs'] = build(prefix, [(t, d) for t, d in rest if t != 13] + [(41, psk)])
    return {name + '-' + k: d for k, d in v.items()}


def main():
    chs = {}
    client_streams = {}
    for sec, rows in traces():
        k = 0
        for f in rows:
            if f[1] == 'client' and f[3] == 'ClientHello' and f[5]:
                chs['rfc8448-%s-ch%d' % (sec, k)] = bytes.fromhex(f[5])[4:]
                k += 1
        # every record the client sends, in order
        stream = b''.join(bytes.fromhex(f[5]) for f in rows
                          if f[1] == 'client' and f[3] == 'complete record' and f[5])
        if stream:
            client_streams['rfc8448-' + sec] = stream
    caps, full = {}, {}
    for path in sorted(glob.glob(os.path.join(CAPS, '*.bin'))):
        data = open(path, 'rb').read()
        name = os.path.basename(path)[:-4]
        if name.startswith('full-'):
            # whole sessions recorded by record_server.c: already a
            # fuzz_server input (4-byte prefix + client bytes)
            full[name] = data
            data = data[4:]
        else:
            caps[name] = data
        b = ch_bodies_from_capture(data)
        if b:
            chs[name] = b

    # fuzz_client_hello: bodies, then variants of two of them
    for name, b in chs.items():
        out('fuzz_client_hello', name, b)
    for base in ('rfc8448-sec3-ch0', 'openssl_default', 'curl'):
        if base in chs:
            for name, b in variants(base, chs[base]).items():
                out('fuzz_client_hello', name, b)
    if 'rfc8448-sec4' in client_streams:
        # the whole ClientHello (the trace's "ClientHello" row is the
        # truncated one the binder covers), from its record
        whole = next(records(client_streams['rfc8448-sec4']))[1][4:]
        out('fuzz_client_hello', 'rfc8448-sec4-whole', whole)
        for name, b in psk_variants('rfc8448-sec4', whole).items():
            out('fuzz_client_hello', name, b)
            # and as the first flight of a connection, for the engine
            out('fuzz_server', name, bytes([0, 0, 0x12, 0x34]) +
                record(22, hs_msg(1, b)))
    out('fuzz_client_hello', 'empty', b'')
    out('fuzz_client_hello', 'short', b'\x03\x03')

    # fuzz_server: 4-byte prefix (config, chunking, seed) then client bytes
    def srv(name, cfg, cmode, stream):
        out('fuzz_server', name, bytes([cfg, cmode, 0x12, 0x34]) + stream)
    for name, s in client_streams.items():
        srv(name, 0, 0, s)
        srv(name + '-chunked', 0x08, 3, s)
    for name, s in sorted(full.items()):
        out('fuzz_server', name, s)
        sel = s[0]
        out('fuzz_server', name + '-chunked-ku', bytes([sel | 0x78, 1]) + s[2:])
        out('fuzz_server', name + '-chunked-close', bytes([sel | 0x90, 5]) + s[2:])
    for i, (name, s) in enumerate(sorted(caps.items())):
        srv(name, i % 8, 0, s)
        srv(name + '-eof', 0x80 | (i % 8), 1, s[:len(s) // 2])
    b = chs.get('rfc8448-sec3-ch0')
    if b:
        for name, v in variants('rfc8448-sec3-ch0', b).items():
            srv(name, 0, 0, record(22, hs_msg(1, v)))
        full = record(22, hs_msg(1, b))
        srv('rfc8448-sec3-ch-split-records', 0, 0,
            record(22, hs_msg(1, b)[:50]) + record(22, hs_msg(1, b)[50:]))
        srv('rfc8448-sec3-ch-then-ccs-garbage', 0, 0, full + b'\x14\x03\x03\x00\x01\x01' + b'\x17\x03\x03\x00\x20' + b'\x00' * 32)
        srv('rfc8448-sec3-ch-twice', 0, 0, full + full)
        srv('rfc8448-sec3-ch-alert', 0, 0, full + b'\x15\x03\x03\x00\x02\x02\x28')
        srv('rfc8448-sec3-ch-policy', 1, 0, full)
    srv('garbage', 0, 0, bytes(range(256)))
    srv('http-get', 0, 0, b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    srv('sslv2-hello', 0, 0, bytes.fromhex('802e0103010015000000100100800300800700c0060040020080040080') + bytes(16))
    srv('ccs-first', 0, 0, b'\x14\x03\x03\x00\x01\x01')
    srv('alert-first', 0, 0, b'\x15\x03\x03\x00\x02\x01\x00')
    srv('appdata-first', 0, 0, b'\x17\x03\x03\x00\x05hello')
    srv('overflow-header', 0, 0, b'\x16\x03\x01\x40\x01' + bytes(16385))
    srv('empty-handshake-record', 0, 0, b'\x16\x03\x01\x00\x00')
    srv('huge-hs-length', 0, 0, b'\x16\x03\x01\x00\x04\x01\xff\xff\xff')

    # fuzz_record: byte 0 (suite, limit, pipe), then steps
    def step(mode, ctype, data):
        return bytes([mode, ctype]) + struct.pack('>H', len(data)) + data
    APP, HS, ALERT, CCS = 23, 22, 21, 20
    S_RAW, PAD_LIMIT, PAD8 = 1, 2, 0x10
    CH1, CH3, CH17 = 4, 8, 12
    A_WRITE, A_KU, A_KUREQ, A_CLOSE, A_HOLD, A_REL, A_BIG = (x << 5 for x in range(1, 8))
    ku = lambda req: hs_msg(24, bytes([req]))
    rec = {
        'app-hello': [step(0, APP, b'hello'), step(A_WRITE, APP, b'world')],
        'app-empty': [step(0, APP, b''), step(0, APP, b'x')],
        'app-pad8': [step(PAD8, APP, b'padded')],
        'app-pad-limit': [step(PAD_LIMIT, APP, b'y' * 100)],
        'app-pad-over': [step(PAD_LIMIT | PAD8, APP, b'z')],
        'app-max': [step(0, APP, b'm' * 16384)],
        'app-max-plus1': [step(0, APP, b'm' * 16385)],
        'app-chunks': [step(CH1, APP, b'a' * 40), step(CH3, APP, b'b' * 40), step(CH17, APP, b'c' * 40)],
        'all-zero-inner': [step(PAD8, 0, b'')],
        'unknown-inner-type': [step(0, 0x42, b'abc')],
        'inner-ccs': [step(0, CCS, b'\x01')],
        'inner-hs-empty': [step(0, HS, b'')],
        'keyupdate': [step(0, HS, ku(0)), step(0, APP, b'after ku')],
        'keyupdate-req': [step(0, HS, ku(1)), step(0, APP, b'after ku req')],
        'keyupdate-bad': [step(0, HS, ku(2))],
        'keyupdate-long': [step(0, HS, hs_msg(24, b'\x00\x00'))],
        'keyupdate-split': [step(0, HS, ku(1)[:2]), step(0, HS, ku(1)[2:]), step(0, APP, b'ok')],
        'keyupdate-plus-data': [step(0, HS, ku(0) + b'\x18')],
        'keyupdate-then-app-inner': [step(0, HS, ku(0)[:3]), step(0, APP, b'interleaved')],
        'hs-finished-late': [step(0, HS, hs_msg(20, bytes(32)))],
        'hs-ch-late': [step(0, HS, hs_msg(1, bytes(40)))],
        'hs-nst': [step(0, HS, hs_msg(4, bytes(8)))],
        'alert-close': [step(0, APP, b'bye'), step(0, ALERT, b'\x01\x00'), step(0, APP, b'ignored')],
        'alert-fatal': [step(0, ALERT, b'\x02\x28')],
        'alert-user-canceled': [step(0, ALERT, b'\x01\x5a'), step(0, APP, b'more')],
        'alert-short': [step(0, ALERT, b'\x02')],
        'alert-long': [step(0, ALERT, b'\x01\x00\x00')],
        'alert-empty': [step(0, ALERT, b'')],
        'raw-overflow': [step(S_RAW, 0, b'\x17\x03\x03\x41\x01' + bytes(64))],
        'raw-badtag': [step(S_RAW, 0, b'\x17\x03\x03\x00\x20' + bytes(32))],
        'raw-short-ct': [step(S_RAW, 0, b'\x17\x03\x03\x00\x10' + bytes(16))],
        'raw-plain-hs': [step(S_RAW, 0, b'\x16\x03\x03\x00\x05\x18\x00\x00\x01\x00')],
        'raw-plain-alert': [step(S_RAW, 0, b'\x15\x03\x03\x00\x02\x02\x28')],
        'raw-ccs': [step(S_RAW, 0, b'\x14\x03\x03\x00\x01\x01')],
        'raw-bad-type': [step(S_RAW, 0, b'\x18\x03\x03\x00\x01\x00')],
        'raw-partial-header': [step(0, APP, b'first'), step(S_RAW, 0, b'\x17\x03')],
        'server-write-ku': [step(A_KU, APP, b'a'), step(A_KUREQ, APP, b'b'), step(A_WRITE, APP, b'c')],
        'server-close': [step(A_CLOSE, APP, b'a'), step(0, APP, b'after close'), step(A_WRITE, APP, b'')],
        'hold-then-read': [step(A_HOLD, APP, b'held'), step(A_HOLD, APP, b'held2'), step(0, APP, b'go')],
        'release-buffers': [step(A_REL, APP, b'r'), step(A_REL, APP, b''), step(0, APP, b'again')],
        'big-write': [step(A_BIG, APP, b'a'), step(A_BIG, APP, b'b'), step(0, APP, b'c')],
    }
    i = 0
    for name, steps in rec.items():
        for hdr in (0, 1, 2, 4 | 8):
            if hdr and name not in ('app-hello', 'keyupdate-req', 'server-write-ku', 'app-chunks', 'big-write'):
                continue
            out('fuzz_record', '%s-%d' % (name, hdr), bytes([hdr]) + b''.join(steps))
            i += 1


if __name__ == '__main__':
    main()
