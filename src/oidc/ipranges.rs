//! Atlassian's published IP ranges, for `--source-ip bitbucket`.

use ipnet::IpNet;
use serde::Deserialize;

use super::Fetcher;
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
struct Ranges {
    items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    cidr: String,
    #[serde(default)]
    product: Vec<String>,
    #[serde(default)]
    direction: Vec<String>,
}

/// The Pipelines egress ranges: items whose product includes `bitbucket` and whose direction
/// includes `egress`.
pub fn pipelines_egress(body: &[u8]) -> Result<Vec<IpNet>> {
    let ranges: Ranges = serde_json::from_slice(body).map_err(|e| {
        Error::failure(format!(
            "Atlassian's IP ranges document is not in the expected form ({{items: [{{cidr, product, direction}}]}}): {e}"
        ))
        .hint("check --ip-ranges-url")
    })?;
    let mut out: Vec<IpNet> = ranges
        .items
        .iter()
        .filter(|i| {
            i.product.iter().any(|p| p == "bitbucket") && i.direction.iter().any(|d| d == "egress")
        })
        .filter_map(|i| i.cidr.parse::<IpNet>().ok())
        .map(|n| n.trunc())
        .collect();
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(Error::failure(
            "Atlassian's IP ranges document lists no Bitbucket egress ranges",
        )
        .hint("check --ip-ranges-url, or pass explicit --source-ip CIDRs"));
    }
    Ok(out)
}

pub async fn fetch(fetcher: &Fetcher, url: &str) -> Result<Vec<IpNet>> {
    let body = fetcher
        .get(
            url,
            "Atlassian IP ranges",
            "check --ip-ranges-url",
            crate::bounded::IP_RANGES_MAX,
        )
        .await?;
    pipelines_egress(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bitbucket_egress_is_kept() {
        let doc = br#"{"creationDate":"x","syncToken":"1","items":[
            {"cidr":"104.192.136.0/21","network":"104.192.136.0","mask_len":21,"product":["bitbucket"],"direction":["ingress","egress"],"region":["global"],"perimeter":"x"},
            {"cidr":"13.52.5.0/25","product":["jira"],"direction":["egress"]},
            {"cidr":"18.205.93.0/25","product":["bitbucket"],"direction":["ingress"]},
            {"cidr":"2401:1d80::/32","product":["bitbucket","confluence"],"direction":["egress"]}
        ]}"#;
        let nets = pipelines_egress(doc).unwrap();
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(shown, vec!["104.192.136.0/21", "2401:1d80::/32"]);
    }
}
