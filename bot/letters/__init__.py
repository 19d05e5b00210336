"""The annual performance review letter: assembled from records, rendered as text, Markdown,
Word and Slack blocks."""
