//! Listing orders: the `sort=` parameter (`titleSort`, `ratingKey`,
//! `addedAt`, `updatedAt`, with `:desc`) and the index orders computed from
//! it. The default order is by title, case-insensitive, then rating key.

use super::model::{Album, Artist, Track};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SortField {
    /// Title, case-insensitive (the default).
    Title,
    /// Title without a leading article ("The", "A", "An"), case-insensitive.
    TitleSort,
    RatingKey,
    AddedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SortSpec {
    pub field: SortField,
    pub descending: bool,
}

impl Default for SortSpec {
    fn default() -> Self {
        SortSpec {
            field: SortField::Title,
            descending: false,
        }
    }
}

impl SortSpec {
    /// Reads `sort=field[:asc|:desc][,more]`; only the first field counts,
    /// ties always break by rating key.
    pub fn parse(text: Option<&str>) -> Result<SortSpec, String> {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return Ok(SortSpec::default());
        };
        let first = text.split(',').next().unwrap_or(text);
        let (name, direction) = first.split_once(':').unwrap_or((first, "asc"));
        let field = match name {
            "title" => SortField::Title,
            "titleSort" => SortField::TitleSort,
            "ratingKey" | "id" => SortField::RatingKey,
            "addedAt" => SortField::AddedAt,
            "updatedAt" => SortField::UpdatedAt,
            other => return Err(format!("unknown sort field {other:?}")),
        };
        let descending = match direction {
            "asc" => false,
            "desc" => true,
            other => return Err(format!("unknown sort direction {other:?}")),
        };
        Ok(SortSpec { field, descending })
    }
}

/// The title without a leading English article, when it has one.
pub(crate) fn title_sort(title: &str) -> Option<&str> {
    ["The ", "A ", "An "].iter().find_map(|article| {
        let head = title.get(..article.len())?;
        head.eq_ignore_ascii_case(article)
            .then(|| &title[article.len()..])
    })
}

/// What the orders need to know of an item.
pub(crate) trait Sortable {
    fn section(&self) -> &str;
    fn title(&self) -> &str;
    fn rating_key(&self) -> u64;
    fn added_at(&self) -> i64;
    fn updated_at(&self) -> i64;
}

macro_rules! sortable {
    ($type:ty) => {
        impl Sortable for $type {
            fn section(&self) -> &str {
                &self.section
            }
            fn title(&self) -> &str {
                &self.title
            }
            fn rating_key(&self) -> u64 {
                self.rating_key
            }
            fn added_at(&self) -> i64 {
                self.added_at
            }
            fn updated_at(&self) -> i64 {
                self.updated_at
            }
        }
    };
}

sortable!(Artist);
sortable!(Album);
sortable!(Track);

/// Positions in `items` of the items of `section`, in `sort` order.
pub(crate) fn compute<T: Sortable>(items: &[T], section: &str, sort: SortSpec) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].section() == section)
        .collect();
    match sort.field {
        SortField::Title => {
            order.sort_by_cached_key(|&i| (items[i].title().to_lowercase(), items[i].rating_key()))
        }
        SortField::TitleSort => order.sort_by_cached_key(|&i| {
            let title = items[i].title();
            (
                title_sort(title).unwrap_or(title).to_lowercase(),
                items[i].rating_key(),
            )
        }),
        SortField::RatingKey => order.sort_by_key(|&i| items[i].rating_key()),
        SortField::AddedAt => order.sort_by_key(|&i| (items[i].added_at(), items[i].rating_key())),
        SortField::UpdatedAt => {
            order.sort_by_key(|&i| (items[i].updated_at(), items[i].rating_key()))
        }
    }
    if sort.descending {
        order.reverse();
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_parameter_reads_field_and_direction() {
        let spec = SortSpec::parse(Some("addedAt:desc")).expect("valid");
        assert_eq!(
            spec,
            SortSpec {
                field: SortField::AddedAt,
                descending: true
            }
        );
        assert_eq!(SortSpec::parse(None).expect("default"), SortSpec::default());
        assert!(SortSpec::parse(Some("colour")).is_err());
        assert!(SortSpec::parse(Some("title:sideways")).is_err());
    }

    #[test]
    fn title_sort_drops_a_leading_article_only() {
        assert_eq!(title_sort("The Wall"), Some("Wall"));
        assert_eq!(title_sort("an Ode"), Some("Ode"));
        assert_eq!(title_sort("Theory"), None);
        assert_eq!(title_sort("Ça"), None);
    }
}
