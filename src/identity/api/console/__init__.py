"""The steward console and the offline GraphiQL page: the files console/ builds (Vite) into
`static/`, served as they are. No data passes here: the pages ask /graphql, with the key."""
