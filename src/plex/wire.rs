//! Plex's JSON wire format, as real servers send it: everything inside
//! `{"MediaContainer": {...}}`, keys that are always strings, numbers that are
//! sometimes strings, ratings that are integers or floats. Decoding is lenient
//! about those shapes and strict about everything else.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(rename = "MediaContainer")]
    pub container: T,
}

/// A container of items (`Metadata`) with its paging attributes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct ItemContainer<T> {
    #[serde(default, deserialize_with = "flex_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "flex_u64")]
    pub total_size: Option<u64>,
    #[serde(default, deserialize_with = "flex_u64")]
    pub offset: Option<u64>,
    #[serde(default, rename = "Metadata")]
    pub metadata: Vec<T>,
}

/// `/identity` and `/`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerContainer {
    #[serde(default)]
    pub machine_identifier: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub friendly_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SectionContainer {
    #[serde(default, rename = "Directory")]
    pub directory: Vec<WireSection>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSection {
    #[serde(deserialize_with = "flex_string")]
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default, deserialize_with = "flex_i64")]
    pub content_changed_at: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub updated_at: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub scanned_at: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct Tag {
    pub tag: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTrack {
    #[serde(deserialize_with = "flex_string")]
    pub rating_key: String,
    #[serde(default, deserialize_with = "flex_opt_string")]
    pub parent_rating_key: Option<String>,
    #[serde(default, deserialize_with = "flex_opt_string")]
    pub grandparent_rating_key: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub title_sort: Option<String>,
    #[serde(default)]
    pub grandparent_title: Option<String>,
    #[serde(default)]
    pub parent_title: Option<String>,
    #[serde(default)]
    pub original_title: Option<String>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub index: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub parent_index: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub parent_year: Option<i64>,
    #[serde(default, deserialize_with = "flex_f64")]
    pub user_rating: Option<f64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub view_count: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub last_viewed_at: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub duration: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub added_at: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub updated_at: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub last_rated_at: Option<i64>,
    #[serde(default, rename = "Genre")]
    pub genres: Vec<Tag>,
}

/// Albums and artists share this shape (`/all?type=9|8`, `/library/metadata`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDirectory {
    #[serde(deserialize_with = "flex_string")]
    pub rating_key: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "flex_opt_string")]
    pub parent_rating_key: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub year: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub deleted_at: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    pub updated_at: Option<i64>,
    #[serde(default, rename = "Genre")]
    pub genres: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePlaylist {
    #[serde(deserialize_with = "flex_string")]
    pub rating_key: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "flex_u64")]
    pub leaf_count: Option<u64>,
}

/// Numbers Plex may send as a JSON number (integer or float) or a numeric string.
struct FlexNumber;

#[derive(Clone, Copy)]
enum Number {
    Int(i64),
    Float(f64),
}

impl<'de> Visitor<'de> for FlexNumber {
    type Value = Option<Number>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a numeric string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Number::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .map(|v| Some(Number::Int(v)))
            .map_err(|_| E::custom(format!("number {v} is too large")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Number::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        if let Ok(i) = v.parse::<i64>() {
            return Ok(Some(Number::Int(i)));
        }
        match v.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Some(Number::Float(f))),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Number::Int(i64::from(v))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(FlexNumber)
    }
}

fn flex_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Number>, D::Error> {
    d.deserialize_any(FlexNumber)
}

pub fn flex_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(flex_number(d)?.map(|n| match n {
        Number::Int(i) => i,
        // Whole-number floats ("6.0") are common; anything else truncates.
        Number::Float(f) => f as i64,
    }))
}

pub fn flex_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match flex_i64(d)? {
        Some(v) if v < 0 => Err(de::Error::custom(format!("expected a count, got {v}"))),
        v => Ok(v.map(|v| v as u64)),
    }
}

pub fn flex_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(flex_number(d)?.map(|n| match n {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
    }))
}

/// Keys: always strings on real servers, but accept integers too.
struct FlexString;

impl<'de> Visitor<'de> for FlexString {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an integer")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

pub fn flex_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(FlexString)
}

pub fn flex_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(d.deserialize_any(FlexString)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_and_counts_accept_every_shape_plex_sends() {
        let json = r#"{"MediaContainer":{"size":"2","totalSize":10,"Metadata":[
            {"ratingKey":"1","userRating":6,"duration":"1000","index":3},
            {"ratingKey":2,"userRating":7.5,"parentYear":"1994"}]}}"#;
        let page: Envelope<ItemContainer<WireTrack>> = serde_json::from_str(json).unwrap();
        let c = page.container;
        assert_eq!((c.size, c.total_size, c.offset), (Some(2), Some(10), None));
        assert_eq!(c.metadata[0].user_rating, Some(6.0));
        assert_eq!(c.metadata[0].duration, Some(1000));
        assert_eq!(c.metadata[1].rating_key, "2");
        assert_eq!(c.metadata[1].user_rating, Some(7.5));
        assert_eq!(c.metadata[1].parent_year, Some(1994));
    }

    #[test]
    fn an_empty_container_has_no_metadata_key() {
        let page: Envelope<ItemContainer<WireTrack>> =
            serde_json::from_str(r#"{"MediaContainer":{"size":0,"totalSize":5}}"#).unwrap();
        assert!(page.container.metadata.is_empty());
        assert_eq!(page.container.total_size, Some(5));
    }

    #[test]
    fn wrong_types_are_errors_not_defaults() {
        for bad in [
            r#"{"MediaContainer":{"Metadata":[{"ratingKey":{}}]}}"#,
            r#"{"MediaContainer":{"Metadata":[{"ratingKey":"1","duration":"abc"}]}}"#,
            r#"{"MediaContainer":{"Metadata":{"ratingKey":"1"}}}"#,
            r#"{"MediaContainer":{"totalSize":-4}}"#,
        ] {
            assert!(
                serde_json::from_str::<Envelope<ItemContainer<WireTrack>>>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn section_markers_are_read_as_plex_sends_them() {
        // Real servers send `contentChangedAt` as a change counter, not a time.
        let json = r#"{"MediaContainer":{"Directory":[{"key":"4","type":"artist","title":"Music",
            "contentChangedAt":"1768504","updatedAt":1711464805,"scannedAt":1713383413}]}}"#;
        let sections: Envelope<SectionContainer> = serde_json::from_str(json).unwrap();
        let music = &sections.container.directory[0];
        assert_eq!(music.content_changed_at, Some(1_768_504));
        assert_eq!(music.updated_at, Some(1_711_464_805));
        assert_eq!(music.scanned_at, Some(1_713_383_413));
    }
}
