"""Use cases of OneHub. Transactions begin and end here.

`bundle.build_services(uow_factory)` builds `TopicService`, `MessageService` and `UserService`;
`auth.build_authenticator(mode, uow_factory)` the `Authenticator` the transports use. Every
public service method takes the caller's `Principal` first and opens one unit of work.
"""
