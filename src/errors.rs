//! Errors as one line of text: the error and each cause that adds
//! something, so a person sees why, not just what. The one formatter every
//! part uses (logs, the CLI's last line, the API's `cause` field).

/// `outer: cause: root cause`, leaving out a cause whose text the line
/// already holds (many errors repeat their source in their own message).
pub fn error_message(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Layer(&'static str, #[source] Option<Box<Layer>>);

    #[test]
    fn causes_are_joined_and_repeats_left_out() {
        let root = Layer("connection refused", None);
        let middle = Layer("cannot connect: connection refused", Some(Box::new(root)));
        let top = Layer("sync failed", Some(Box::new(middle)));
        assert_eq!(
            error_message(&top),
            "sync failed: cannot connect: connection refused"
        );
    }
}
