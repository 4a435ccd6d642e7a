//! Summaries of measurements: median, min and max over runs, and
//! nearest-rank percentiles over individual timings.

use serde::{Deserialize, Serialize};

/// Median, min and max of some runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// `None` for no values.
pub fn summary(values: &[f64]) -> Option<Summary> {
    let sorted = sorted(values);
    let (first, last) = (sorted.first()?, sorted.last()?);
    let mid = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    };
    Some(Summary {
        median,
        min: *first,
        max: *last,
    })
}

/// p50, p95 and p99 of many timings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// `None` for no values.
pub fn percentiles(values: &[f64]) -> Option<Percentiles> {
    let sorted = sorted(values);
    Some(Percentiles {
        p50: percentile(&sorted, 50.0)?,
        p95: percentile(&sorted, 95.0)?,
        p99: percentile(&sorted, 99.0)?,
    })
}

/// Nearest-rank percentile of sorted values: the smallest value with at
/// least `p`% of the values at or below it.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = summary(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(summary(&[1.0, 2.0, 3.0, 10.0]).unwrap().median, 2.5);
        assert!(summary(&[]).is_none());
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles(&values).unwrap();
        assert_eq!((p.p50, p.p95, p.p99), (50.0, 95.0, 99.0));
        let p = percentiles(&[7.0]).unwrap();
        assert_eq!((p.p50, p.p95, p.p99), (7.0, 7.0, 7.0));
        assert_eq!(percentile(&[1.0, 2.0], 0.0), Some(1.0));
    }
}
