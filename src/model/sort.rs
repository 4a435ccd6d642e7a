//! Sort orders over the cached library. The names here are the only list
//! of them: the API's validation and OpenAPI document, the CLI's value
//! parser, the page and the load tools all take `SortField::ALL`.

use super::filter::FilterError;

/// What a page is sorted by. Declared in the order the names are listed to
/// users (`SortField::ALL`, error messages, the OpenAPI document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    Title,
    #[default]
    Artist,
    Album,
    Year,
    Rating,
    Duration,
    Added,
    Plays,
    LastPlayed,
}

impl SortField {
    /// Every field, in declaration order (`field as usize` indexes it).
    pub const ALL: [SortField; 9] = [
        SortField::Title,
        SortField::Artist,
        SortField::Album,
        SortField::Year,
        SortField::Rating,
        SortField::Duration,
        SortField::Added,
        SortField::Plays,
        SortField::LastPlayed,
    ];

    /// The name `Sort::parse` takes for this field.
    pub fn name(self) -> &'static str {
        match self {
            SortField::Artist => "artist",
            SortField::Title => "title",
            SortField::Album => "album",
            SortField::Year => "year",
            SortField::Rating => "rating",
            SortField::Duration => "duration",
            SortField::Added => "added",
            SortField::Plays => "plays",
            SortField::LastPlayed => "last_played",
        }
    }

    /// Every name, in the order of `ALL`.
    pub fn names() -> [&'static str; 9] {
        SortField::ALL.map(SortField::name)
    }

    /// The field named `name` (exactly, as `name` gives it).
    pub fn from_name(name: &str) -> Option<SortField> {
        SortField::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Parses a sort name with an error listing the names.
    pub fn parse(name: &str) -> Result<SortField, FilterError> {
        SortField::from_name(name).ok_or_else(|| FilterError::Invalid {
            param: "sort".to_owned(),
            message: format!("{name:?} is not one of {}", SortField::names().join(", ")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    /// The `sort` and `order` parameters (trimmed); artist ascending when
    /// absent.
    pub fn parse(field: Option<&str>, order: Option<&str>) -> Result<Self, FilterError> {
        let field = match field.map(str::trim) {
            Some(name) => SortField::parse(name)?,
            None => SortField::default(),
        };
        let descending = match order.map(str::trim).unwrap_or("asc") {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(FilterError::Invalid {
                    param: "order".to_owned(),
                    message: format!("{other:?} is not asc or desc"),
                });
            }
        };
        Ok(Sort { field, descending })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_parses_and_rejects() {
        assert_eq!(
            Sort::parse(Some("year"), Some("desc")).unwrap(),
            Sort {
                field: SortField::Year,
                descending: true
            }
        );
        assert!(Sort::parse(Some("id; DROP"), None).is_err());
        for (i, field) in SortField::ALL.into_iter().enumerate() {
            assert_eq!(field as usize, i);
            assert_eq!(Sort::parse(Some(field.name()), None).unwrap().field, field);
        }
        assert!(Sort::parse(None, Some("up")).is_err());
        assert_eq!(Sort::parse(None, None).unwrap(), Sort::default());
    }

    #[test]
    fn the_error_lists_every_name_in_order() {
        let err = Sort::parse(Some("colour"), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid sort: \"colour\" is not one of title, artist, album, year, rating, \
             duration, added, plays, last_played"
        );
    }
}
