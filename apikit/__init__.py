"""The project's REST API toolkit, shared by the plugin's API and the host shop's: error bodies
(errors), parsers, pagination, idempotent POSTs (idempotency, with the IdempotencyKey model), OpenAPI
parameters (schema), serializer pieces and the token view. Imports no other app of the project."""
