//! Address ranges (CIDR) for the allow list: parsed strictly, matched purely.
//!
//! A range with host bits set (`10.20.1.0/16`) is refused with the ranges it could have meant,
//! never silently widened: a mistyped prefix would otherwise allow far more than was meant.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::text::quote_url;

/// An address range: a network address and a prefix length, with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// The `prefix`-bit network mask for a `width`-bit address, as the low bits of a u128.
fn mask(prefix: u8, width: u8) -> u128 {
    let all = if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    if prefix == 0 {
        0
    } else {
        all & !((1u128 << (width - prefix)) - 1)
    }
}

fn from_bits(value: u128, width: u8) -> IpAddr {
    if width == 32 {
        IpAddr::V4(Ipv4Addr::from(value as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(value))
    }
}

impl Cidr {
    /// The one-address range of `ip` (`/32` or `/128`).
    pub fn single(ip: IpAddr) -> Cidr {
        Cidr {
            addr: ip,
            prefix: bits(ip).1,
        }
    }

    /// Parses `ADDRESS/PREFIX`. Host bits must be zero: `10.20.1.0/16` is refused, naming
    /// `10.20.0.0/16` and `10.20.1.0/24`, because a mistyped prefix would otherwise allow far
    /// more than was meant.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("{} is not a CIDR range (ADDRESS/PREFIX)", quote_url(text)))?;
        let addr: IpAddr = addr.trim_matches(['[', ']']).parse().map_err(|_| {
            format!(
                "{}: {} is not an IPv4 or IPv6 address (e.g. 10.20.0.0/16, fd00::/8)",
                quote_url(text),
                quote_url(addr)
            )
        })?;
        let (value, width) = bits(addr);
        let prefix: u8 = match prefix.parse() {
            Ok(p) if p <= width && prefix.bytes().all(|b| b.is_ascii_digit()) => p,
            _ => {
                return Err(format!(
                    "{}: the prefix length must be a number from 0 to {width}",
                    quote_url(text)
                ))
            }
        };
        let network = value & mask(prefix, width);
        if network != value {
            let exact = width - value.trailing_zeros().min(width as u32) as u8;
            return Err(format!(
                "{} has host bits set: did you mean {} or {}?",
                quote_url(text),
                Cidr {
                    addr: from_bits(network, width),
                    prefix
                },
                Cidr {
                    addr,
                    prefix: exact
                }
            ));
        }
        Ok(Cidr { addr, prefix })
    }

    /// Whether this range is one address (`/32` or `/128`).
    pub fn is_single(&self) -> bool {
        self.prefix == bits(self.addr).1
    }

    /// The range's network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// Whether `ip` is in this range (same address family only).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (value, width) = bits(ip);
        let (net, net_width) = bits(self.addr);
        width == net_width && value & mask(self.prefix, width) == net
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_contain_their_addresses_only() {
        let r = Cidr::parse("10.20.0.0/16").unwrap();
        assert!(r.contains(ip("10.20.0.0")));
        assert!(r.contains(ip("10.20.255.255")));
        assert!(!r.contains(ip("10.21.0.0")));
        assert!(!r.contains(ip("10.19.255.255")));
        assert!(
            !r.contains(ip("::ffff:10.20.0.1")),
            "families are not mixed"
        );
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("255.255.255.255")));
        assert!(!all.contains(ip("::1")));
        let one = Cidr::single(ip("::1"));
        assert!(one.contains(ip("::1")));
        assert!(!one.contains(ip("::2")));
        let v6 = Cidr::parse("fd00:1234::/32").unwrap();
        assert!(v6.contains(ip("fd00:1234:ffff::1")));
        assert!(!v6.contains(ip("fd00:1235::1")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("fe80::1")));
    }

    #[test]
    fn refusals_quote_the_input_cut_short_and_without_a_password() {
        let e = Cidr::parse("u:hunter2@10.0.0.0/8").unwrap_err();
        assert!(!e.contains("hunter2") && e.contains("u:***@"), "{e}");
        let e = Cidr::parse(&format!("10.0.0.0/{}", "9".repeat(500))).unwrap_err();
        assert!(e.len() < 200, "{e}");
    }
}
