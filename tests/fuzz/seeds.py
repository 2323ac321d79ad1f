#!/usr/bin/env python3
# Writes the hand-made seed inputs of the FuzzedDataProvider targets
# (validation, proxy_address, job_planner) into corpus/<target>/, as bytes
# laid out the way FuzzedDataProvider reads them: strings from the front
# (each ended by "\" and one more byte), integers and booleans from the back;
# and the config target's field-by-field seeds (NUL, message, bytes). The
# config target's other seeds are configuration files, kept as they are.
# Run it again after changing what a target consumes:
#   tests/fuzz/seeds.py
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = ["proxyAddresses", "mail"] + [f"extensionAttribute{i}" for i in range(1, 16)] + \
    [f"msExchExtensionCustomAttribute{i}" for i in range(1, 6)] + \
    ["msExchRecipientDisplayType", "msExchRecipientTypeDetails", "msExchHideFromAddressLists"]


class Input:
    def __init__(self):
        self.front = b""
        self.back = []  # bytes in the order they are consumed from the end

    def string(self, s):
        self.front += s.encode().replace(b"\\", b"\\\\") + b"\\ "

    def raw(self, b):
        self.front += b

    def byte(self, v):
        self.back.append(v & 0xFF)

    def u64(self, v):
        for i in range(8):
            self.byte(v >> (8 * (7 - i)))

    def data(self):
        return self.front + bytes(reversed(self.back))


def write(target, name, data):
    os.makedirs(os.path.join(HERE, "corpus", target), exist_ok=True)
    with open(os.path.join(HERE, "corpus", target, name), "wb") as f:
        f.write(data)


def validation(name, attribute, values):
    i = Input()
    i.byte(CATALOG.index(attribute))
    i.byte(len(values))
    for v in values:
        i.string(v)
    write("validation", name, i.data())


def proxy(name, values, types, domain):
    i = Input()
    i.byte(len(values))
    for v in values:
        i.string(v)
    i.byte(len(types))
    for t in types:
        i.string(t)
    i.string(domain)
    write("proxy_address", name, i.data())


POOL = ["SMTP:ann@contoso.com", "smtp:ann@contoso.com", "SMTP:Ann@Contoso.com",
        "smtp:bob@contoso.com", "X500:/o=corp/cn=ann", "x500:/o=corp/cn=ann", "ann@contoso.com",
        "Ann@Contoso.COM", "7", "+007", "-0", "0", "TRUE", "true", "FALSE", "Ünïcode",
        "üNÏCODE", "", "value", "VALUE"]


def fill_map(i, attributes):
    i.byte(len(attributes))
    for name, values in attributes:
        i.byte(CATALOG.index(name))
        i.byte(len(values))
        for v in values:
            i.byte(1)  # from the pool
            i.byte(POOL.index(v))


def planner(name, desired, last_known, verify_read=False, copy=False):
    i = Input()
    i.string("0b5e6c1a-4d2f-4b8e-9a51-3c7d2e8f9a10")
    i.raw(bytes(range(16)))
    i.u64(7)
    i.byte(1 if verify_read else 0)
    fill_map(i, desired)
    i.byte(0 if last_known is None else 1)
    if last_known is not None:
        i.byte(1 if copy else 0)
        fill_map(i, last_known)
    write("job_planner", name, i.data())


validation("proxy_set", "proxyAddresses",
           ["SMTP:ann@contoso.com", "smtp:Ann.Lee@sub.contoso.com",
            "X500:/o=Corp/ou=Exchange/cn=Recipients/cn=ann", "SIP:ann@contoso.com"])
validation("proxy_mixed_case", "proxyAddresses", ["smtp:ann@contoso.com", "Smtp:b@x.y"])
validation("proxy_quoted", "proxyAddresses",
           ['SMTP:"ann lee"@contoso.com', "smtp:ünï@bücher.de", 'smtp:"a\\"b"@x.example'])
validation("mail", "mail", ["Ann.Lee+tag@Contoso.com"])
validation("string", "extensionAttribute1", ["Ünïcode ÄÖÜ İstanbul Ωμέγα Привет"])
validation("multi", "msExchExtensionCustomAttribute1", ["a", "B", "ç", "Ç"])
validation("integer", "msExchRecipientDisplayType", ["-2147483642"])
validation("large_integer", "msExchRecipientTypeDetails", ["+0002147483648"])
validation("boolean", "msExchHideFromAddressLists", ["true"])

proxy("primary_secondary", ["SMTP:ann@contoso.com", "smtp:ann@fabrikam.com", "SIP:ann@contoso.com"],
      ["SMTP"], "contoso.com")
proxy("owned_types", ["SMTP:Ann@Contoso.COM", "X500:/o=corp/cn=a*(b)\\c", "eum:1234@contoso.com"],
      ["smtp", "X500"], "CONTOSO.com")
proxy("quoted", ['SMTP:"a@b"@contoso.com', "smtp:x@sub.contoso.com"], [], "contoso.com")

planner("never_read", [("proxyAddresses", ["SMTP:ann@contoso.com"])], None)
planner("in_sync", [("mail", ["ann@contoso.com"]), ("msExchRecipientDisplayType", ["+007"])],
        [("mail", ["Ann@Contoso.COM"]), ("msExchRecipientDisplayType", ["7"])])
planner("primary_changes", [("proxyAddresses", ["SMTP:ann@contoso.com", "smtp:bob@contoso.com"])],
        [("proxyAddresses", ["smtp:ann@contoso.com", "smtp:bob@contoso.com"])])
planner("verify_read", [("msExchHideFromAddressLists", ["TRUE"])],
        [("msExchHideFromAddressLists", ["true"])], verify_read=True)
planner("clear", [("extensionAttribute1", [])], [("extensionAttribute1", ["value"])], copy=True)


# Built field by field (config_fuzz.cc's Fill): NUL, which message, then the
# FuzzedDataProvider bytes; any bytes do, these set a few fields each.
write("config", "controller_fields", b"\x00\x00" + bytes(range(1, 97)))
write("config", "agent_fields", b"\x00\x01" + bytes(range(97, 1, -1)))
