//! Which destinations webhooks may reach. Unless private targets are allowed, only public
//! unicast addresses are: loopback, private, link-local, shared, documentation, multicast and
//! other special-purpose ranges are refused, also when hidden inside IPv6 (mapped, NAT64, 6to4).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not public, in words for an error message; `None` when it is public.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    let reason = if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_unspecified() || o[0] == 0 {
        "an unspecified (\"this network\") address"
    } else if ip.is_private() {
        "a private address"
    } else if ip.is_link_local() {
        if o == [169, 254, 169, 254] {
            "a cloud metadata address"
        } else {
            "a link-local address"
        }
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        "a shared (carrier-grade NAT) address"
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        "an IETF protocol assignment address"
    } else if ip.is_documentation() {
        "a documentation address"
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        "a benchmarking address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if ip.is_broadcast() || o[0] >= 240 {
        "a reserved address"
    } else {
        return None;
    };
    Some(reason)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4).or(Some("an IPv4-mapped address"));
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    let reason = if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_unspecified() {
        "an unspecified address"
    } else if s[0..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated): ::a.b.c.d
        return v4_reason(embedded(s[6], s[7])).or(Some("an IPv4-compatible address"));
    } else if s[0] == 0x64 && s[1] == 0xff9b {
        // NAT64 well-known prefix: judge the IPv4 address it reaches.
        return v4_reason(embedded(s[6], s[7]));
    } else if s[0] == 0x2002 {
        // 6to4: judge the embedded IPv4 relay address.
        return v4_reason(embedded(s[1], s[2]));
    } else if (s[0] & 0xfe00) == 0xfc00 {
        "a private (unique local) address"
    } else if (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0 {
        "a link-local address"
    } else if (s[0] & 0xff00) == 0xff00 {
        "a multicast address"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "a documentation address"
    } else if s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
        "a discard-only address"
    } else if s[0] == 0x2001 && s[1] < 0x0200 {
        "an IETF protocol assignment address"
    } else {
        return None;
    };
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        let refused = [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
        ];
        for a in refused {
            let ip: IpAddr = a.parse().unwrap();
            assert!(non_public_reason(ip).is_some(), "{a} should be refused");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ];
        for a in public {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(non_public_reason(ip), None, "{a} should be allowed");
        }
    }

    #[test]
    fn names_the_metadata_address() {
        let ip: IpAddr = "169.254.169.254".parse().unwrap();
        assert_eq!(non_public_reason(ip), Some("a cloud metadata address"));
    }
}
