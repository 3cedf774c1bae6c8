//! The union of every allowed source range, computed once: ranges that are each narrow can
//! still add up to the whole internet (`0.0.0.0/1` + `128.0.0.0/1`), which is no restriction.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::{Error, Result};

/// A range as its address family sees it: an IPv4-mapped IPv6 range (within `::ffff:0:0/96`)
/// counts as the IPv4 range it maps.
fn normalised(net: &IpNet) -> IpNet {
    if let IpNet::V6(n) = net {
        if n.prefix_len() >= 96 {
            if let Some(v4) = n.network().to_ipv4_mapped() {
                if let Ok(mapped) = Ipv4Net::new(v4, n.prefix_len() - 96) {
                    return IpNet::V4(mapped.trunc());
                }
            }
        }
    }
    net.trunc()
}

/// The smallest list of ranges that covers exactly what `nets` cover.
pub fn union(nets: &[IpNet]) -> Vec<IpNet> {
    let normal: Vec<IpNet> = nets.iter().map(normalised).collect();
    IpNet::aggregate(&normal)
}

/// Which whole address family the union of `nets` covers, if any.
pub fn covers_everything(nets: &[IpNet]) -> Option<&'static str> {
    let all_v4 = IpNet::V4(Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0).unwrap_or_default());
    let all_v6 = IpNet::V6(Ipv6Net::new(Ipv6Addr::UNSPECIFIED, 0).unwrap_or_default());
    let mapped_v4 =
        IpNet::V6(Ipv6Net::new(Ipv4Addr::UNSPECIFIED.to_ipv6_mapped(), 96).unwrap_or_default());
    let merged = union(nets);
    // ::/0 holds every IPv4-mapped address too: name the larger family.
    if merged.iter().any(|n| n.contains(&all_v6)) {
        Some("all of IPv6 (::/0)")
    } else if merged
        .iter()
        .any(|n| n.contains(&all_v4) || n.contains(&mapped_v4))
    {
        Some("all of IPv4 (0.0.0.0/0)")
    } else {
        None
    }
}

/// Refuse source ranges that together allow every address of a family. `origin` says where
/// they came from, for the message.
pub fn check_source_union(nets: &[IpNet], origin: &str) -> Result<()> {
    let Some(everything) = covers_everything(nets) else {
        return Ok(());
    };
    let shown: Vec<String> = union(nets).iter().map(ToString::to_string).collect();
    let listed: Vec<String> = nets.iter().take(8).map(ToString::to_string).collect();
    let more = if nets.len() > 8 {
        format!(" and {} more", nets.len() - 8)
    } else {
        String::new()
    };
    Err(Error::usage(format!(
        "the source ranges {origin} ({}{more}) together cover {everything} (their union is {}): the IP condition would restrict nothing",
        listed.join(", "),
        shown.join(", ")
    ))
    .hint("pass only the ranges your pipelines egress from (--source-ip CIDR or bitbucket), or leave --source-ip out and accept that any network can use a stolen token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(v: &[&str]) -> Vec<IpNet> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn halves_of_the_internet_add_up_to_all_of_it() {
        assert_eq!(
            covers_everything(&nets(&["0.0.0.0/1", "128.0.0.0/1"])),
            Some("all of IPv4 (0.0.0.0/0)")
        );
        assert_eq!(
            covers_everything(&nets(&["::/1", "8000::/1"])),
            Some("all of IPv6 (::/0)")
        );
        let quarters = nets(&["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"]);
        assert!(covers_everything(&quarters).is_some());
    }

    #[test]
    fn mapped_ipv6_counts_as_ipv4() {
        let v = nets(&["::ffff:0.0.0.0/97", "128.0.0.0/1"]);
        assert_eq!(covers_everything(&v), Some("all of IPv4 (0.0.0.0/0)"));
        // A v6 range holding the whole mapped block holds every IPv4 address.
        assert!(covers_everything(&nets(&["::/64"])).is_some());
    }

    #[test]
    fn a_gap_anywhere_is_a_restriction() {
        let v = nets(&["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4"]);
        assert_eq!(covers_everything(&v), None);
        assert_eq!(
            covers_everything(&nets(&["104.192.136.0/21", "2401:1d80::/32"])),
            None
        );
        assert_eq!(covers_everything(&[]), None);
    }

    #[test]
    fn the_message_names_the_ranges_and_the_fix() {
        let e = check_source_union(
            &nets(&["0.0.0.0/1", "128.0.0.0/1"]),
            "given with --source-ip",
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::Usage);
        assert!(
            e.message.contains("0.0.0.0/1, 128.0.0.0/1"),
            "{}",
            e.message
        );
        assert!(e.message.contains("union is 0.0.0.0/0"), "{}", e.message);
        assert!(e.hint.unwrap().contains("--source-ip"));
    }
}
