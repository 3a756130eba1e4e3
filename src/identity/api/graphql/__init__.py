"""GraphQL over HTTP for front-end apps and stewards (strawberry on starlette)."""
