import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Purpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PURPOSE_UNSPECIFIED: _ClassVar[Purpose]
    PURPOSE_PERSONALIZATION: _ClassVar[Purpose]
    PURPOSE_MARKETING: _ClassVar[Purpose]
    PURPOSE_ANALYTICS: _ClassVar[Purpose]
    PURPOSE_SALE_SHARING: _ClassVar[Purpose]
PURPOSE_UNSPECIFIED: Purpose
PURPOSE_PERSONALIZATION: Purpose
PURPOSE_MARKETING: Purpose
PURPOSE_ANALYTICS: Purpose
PURPOSE_SALE_SHARING: Purpose

class Identifier(_message.Message):
    __slots__ = ("kind", "value")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    value: str
    def __init__(self, kind: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ResolveRequest(_message.Message):
    __slots__ = ("identifiers", "mode", "source", "id_only", "purpose")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[ResolveRequest.Mode]
        MODE_LOOKUP: _ClassVar[ResolveRequest.Mode]
        MODE_CREATE: _ClassVar[ResolveRequest.Mode]
    MODE_UNSPECIFIED: ResolveRequest.Mode
    MODE_LOOKUP: ResolveRequest.Mode
    MODE_CREATE: ResolveRequest.Mode
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ID_ONLY_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    identifiers: _containers.RepeatedCompositeFieldContainer[Identifier]
    mode: ResolveRequest.Mode
    source: str
    id_only: bool
    purpose: Purpose
    def __init__(self, identifiers: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ..., mode: _Optional[_Union[ResolveRequest.Mode, str]] = ..., source: _Optional[str] = ..., id_only: _Optional[bool] = ..., purpose: _Optional[_Union[Purpose, str]] = ...) -> None: ...

class ResolveResponse(_message.Message):
    __slots__ = ("profile_id", "profile", "created", "merged_profile_ids", "conflicting")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    MERGED_PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    CONFLICTING_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    profile: Profile
    created: bool
    merged_profile_ids: _containers.RepeatedScalarFieldContainer[str]
    conflicting: _containers.RepeatedCompositeFieldContainer[Identifier]
    def __init__(self, profile_id: _Optional[str] = ..., profile: _Optional[_Union[Profile, _Mapping]] = ..., created: _Optional[bool] = ..., merged_profile_ids: _Optional[_Iterable[str]] = ..., conflicting: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("profile_id", "purpose")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    purpose: Purpose
    def __init__(self, profile_id: _Optional[str] = ..., purpose: _Optional[_Union[Purpose, str]] = ...) -> None: ...

class BatchGetProfilesRequest(_message.Message):
    __slots__ = ("profile_ids", "identifiers", "purpose")
    PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    profile_ids: _containers.RepeatedScalarFieldContainer[str]
    identifiers: _containers.RepeatedCompositeFieldContainer[Identifier]
    purpose: Purpose
    def __init__(self, profile_ids: _Optional[_Iterable[str]] = ..., identifiers: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ..., purpose: _Optional[_Union[Purpose, str]] = ...) -> None: ...

class BatchGetProfilesResponse(_message.Message):
    __slots__ = ("lookups",)
    LOOKUPS_FIELD_NUMBER: _ClassVar[int]
    lookups: _containers.RepeatedCompositeFieldContainer[ProfileLookup]
    def __init__(self, lookups: _Optional[_Iterable[_Union[ProfileLookup, _Mapping]]] = ...) -> None: ...

class ProfileLookup(_message.Message):
    __slots__ = ("profile_id", "identifier", "found", "profile")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    identifier: Identifier
    found: bool
    profile: Profile
    def __init__(self, profile_id: _Optional[str] = ..., identifier: _Optional[_Union[Identifier, _Mapping]] = ..., found: _Optional[bool] = ..., profile: _Optional[_Union[Profile, _Mapping]] = ...) -> None: ...

class Profile(_message.Message):
    __slots__ = ("id", "requested_id", "merged_ids", "created_at", "first_seen", "last_seen", "identifiers", "golden", "order_count", "total_spend", "unknown_value_order_count", "limits_reached", "consent", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    GOLDEN_FIELD_NUMBER: _ClassVar[int]
    ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SPEND_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_VALUE_ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    LIMITS_REACHED_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    requested_id: str
    merged_ids: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    first_seen: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    identifiers: _containers.RepeatedCompositeFieldContainer[ProfileIdentifier]
    golden: _containers.RepeatedCompositeFieldContainer[GoldenField]
    order_count: int
    total_spend: _containers.RepeatedCompositeFieldContainer[Money]
    unknown_value_order_count: int
    limits_reached: _containers.RepeatedCompositeFieldContainer[LimitReached]
    consent: _containers.RepeatedCompositeFieldContainer[ConsentDecision]
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., requested_id: _Optional[str] = ..., merged_ids: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., identifiers: _Optional[_Iterable[_Union[ProfileIdentifier, _Mapping]]] = ..., golden: _Optional[_Iterable[_Union[GoldenField, _Mapping]]] = ..., order_count: _Optional[int] = ..., total_spend: _Optional[_Iterable[_Union[Money, _Mapping]]] = ..., unknown_value_order_count: _Optional[int] = ..., limits_reached: _Optional[_Iterable[_Union[LimitReached, _Mapping]]] = ..., consent: _Optional[_Iterable[_Union[ConsentDecision, _Mapping]]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConsentDecision(_message.Message):
    __slots__ = ("purpose", "granted", "source", "at", "event_id")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    purpose: Purpose
    granted: bool
    source: str
    at: _timestamp_pb2.Timestamp
    event_id: str
    def __init__(self, purpose: _Optional[_Union[Purpose, str]] = ..., granted: _Optional[bool] = ..., source: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_id: _Optional[str] = ...) -> None: ...

class SetConsentRequest(_message.Message):
    __slots__ = ("profile_id", "purpose", "granted", "reason")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    purpose: Purpose
    granted: bool
    reason: str
    def __init__(self, profile_id: _Optional[str] = ..., purpose: _Optional[_Union[Purpose, str]] = ..., granted: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class SetConsentResponse(_message.Message):
    __slots__ = ("action_id", "profile_id", "changed", "consent")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    profile_id: str
    changed: bool
    consent: _containers.RepeatedCompositeFieldContainer[ConsentDecision]
    def __init__(self, action_id: _Optional[str] = ..., profile_id: _Optional[str] = ..., changed: _Optional[bool] = ..., consent: _Optional[_Iterable[_Union[ConsentDecision, _Mapping]]] = ...) -> None: ...

class LimitReached(_message.Message):
    __slots__ = ("kind", "limit")
    KIND_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    limit: int
    def __init__(self, kind: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ProfileIdentifier(_message.Message):
    __slots__ = ("kind", "value", "first_seen", "last_seen", "hub_reason")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    HUB_REASON_FIELD_NUMBER: _ClassVar[int]
    kind: str
    value: str
    first_seen: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    hub_reason: str
    def __init__(self, kind: _Optional[str] = ..., value: _Optional[str] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., hub_reason: _Optional[str] = ...) -> None: ...

class GoldenField(_message.Message):
    __slots__ = ("name", "value", "source", "observed_at", "event_id", "support")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    source: str
    observed_at: _timestamp_pb2.Timestamp
    event_id: str
    support: int
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., source: _Optional[str] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_id: _Optional[str] = ..., support: _Optional[int] = ...) -> None: ...

class Money(_message.Message):
    __slots__ = ("currency", "amount")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    currency: str
    amount: str
    def __init__(self, currency: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("event_id", "type", "timestamp", "source", "identifiers", "traits", "amount", "currency", "consent")
    class TraitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ConsentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    TRAITS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: str
    timestamp: str
    source: str
    identifiers: _containers.RepeatedCompositeFieldContainer[Identifier]
    traits: _containers.ScalarMap[str, str]
    amount: str
    currency: str
    consent: _containers.ScalarMap[str, bool]
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[str] = ..., timestamp: _Optional[str] = ..., source: _Optional[str] = ..., identifiers: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ..., traits: _Optional[_Mapping[str, str]] = ..., amount: _Optional[str] = ..., currency: _Optional[str] = ..., consent: _Optional[_Mapping[str, bool]] = ...) -> None: ...

class IngestEventsRequest(_message.Message):
    __slots__ = ("events", "strict")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    strict: bool
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., strict: _Optional[bool] = ...) -> None: ...

class IngestEventsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[EventResult]
    def __init__(self, results: _Optional[_Iterable[_Union[EventResult, _Mapping]]] = ...) -> None: ...

class EventResult(_message.Message):
    __slots__ = ("index", "event_id", "status", "profile_id", "merged_profile_ids", "errors", "ignored_identifiers", "warnings")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[EventResult.Status]
        STATUS_ACCEPTED: _ClassVar[EventResult.Status]
        STATUS_DUPLICATE: _ClassVar[EventResult.Status]
        STATUS_REJECTED: _ClassVar[EventResult.Status]
    STATUS_UNSPECIFIED: EventResult.Status
    STATUS_ACCEPTED: EventResult.Status
    STATUS_DUPLICATE: EventResult.Status
    STATUS_REJECTED: EventResult.Status
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    IGNORED_IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    index: int
    event_id: str
    status: EventResult.Status
    profile_id: str
    merged_profile_ids: _containers.RepeatedScalarFieldContainer[str]
    errors: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    ignored_identifiers: _containers.RepeatedCompositeFieldContainer[IgnoredIdentifier]
    warnings: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    def __init__(self, index: _Optional[int] = ..., event_id: _Optional[str] = ..., status: _Optional[_Union[EventResult.Status, str]] = ..., profile_id: _Optional[str] = ..., merged_profile_ids: _Optional[_Iterable[str]] = ..., errors: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ..., ignored_identifiers: _Optional[_Iterable[_Union[IgnoredIdentifier, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ...) -> None: ...

class IgnoredIdentifier(_message.Message):
    __slots__ = ("field", "kind", "value", "reason")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    field: str
    kind: str
    value: str
    reason: str
    def __init__(self, field: _Optional[str] = ..., kind: _Optional[str] = ..., value: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class FieldViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class IngestStreamRequest(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: Event
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class IngestStreamResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: EventResult
    def __init__(self, result: _Optional[_Union[EventResult, _Mapping]] = ...) -> None: ...

class WatchChangesRequest(_message.Message):
    __slots__ = ("profile_ids", "after_position")
    PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    profile_ids: _containers.RepeatedScalarFieldContainer[str]
    after_position: str
    def __init__(self, profile_ids: _Optional[_Iterable[str]] = ..., after_position: _Optional[str] = ...) -> None: ...

class ProfileChange(_message.Message):
    __slots__ = ("position", "change_id", "kind", "profile_id", "absorbed_ids", "split_ids", "cause_event_id", "at")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[ProfileChange.Kind]
        KIND_CREATED: _ClassVar[ProfileChange.Kind]
        KIND_UPDATED: _ClassVar[ProfileChange.Kind]
        KIND_MERGED: _ClassVar[ProfileChange.Kind]
        KIND_SPLIT: _ClassVar[ProfileChange.Kind]
        KIND_CONSENT_CHANGED: _ClassVar[ProfileChange.Kind]
        KIND_ERASED: _ClassVar[ProfileChange.Kind]
    KIND_UNSPECIFIED: ProfileChange.Kind
    KIND_CREATED: ProfileChange.Kind
    KIND_UPDATED: ProfileChange.Kind
    KIND_MERGED: ProfileChange.Kind
    KIND_SPLIT: ProfileChange.Kind
    KIND_CONSENT_CHANGED: ProfileChange.Kind
    KIND_ERASED: ProfileChange.Kind
    POSITION_FIELD_NUMBER: _ClassVar[int]
    CHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    ABSORBED_IDS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_IDS_FIELD_NUMBER: _ClassVar[int]
    CAUSE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    position: str
    change_id: str
    kind: ProfileChange.Kind
    profile_id: str
    absorbed_ids: _containers.RepeatedScalarFieldContainer[str]
    split_ids: _containers.RepeatedScalarFieldContainer[str]
    cause_event_id: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, position: _Optional[str] = ..., change_id: _Optional[str] = ..., kind: _Optional[_Union[ProfileChange.Kind, str]] = ..., profile_id: _Optional[str] = ..., absorbed_ids: _Optional[_Iterable[str]] = ..., split_ids: _Optional[_Iterable[str]] = ..., cause_event_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ("a", "b")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    a: Identifier
    b: Identifier
    def __init__(self, a: _Optional[_Union[Identifier, _Mapping]] = ..., b: _Optional[_Union[Identifier, _Mapping]] = ...) -> None: ...

class Explanation(_message.Message):
    __slots__ = ("profile_a", "profile_b", "same_profile", "path", "comparison", "link_threshold", "review_threshold")
    PROFILE_A_FIELD_NUMBER: _ClassVar[int]
    PROFILE_B_FIELD_NUMBER: _ClassVar[int]
    SAME_PROFILE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    LINK_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    REVIEW_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    profile_a: str
    profile_b: str
    same_profile: bool
    path: _containers.RepeatedCompositeFieldContainer[Link]
    comparison: MatchScore
    link_threshold: float
    review_threshold: float
    def __init__(self, profile_a: _Optional[str] = ..., profile_b: _Optional[str] = ..., same_profile: _Optional[bool] = ..., path: _Optional[_Iterable[_Union[Link, _Mapping]]] = ..., comparison: _Optional[_Union[MatchScore, _Mapping]] = ..., link_threshold: _Optional[float] = ..., review_threshold: _Optional[float] = ...) -> None: ...

class Link(_message.Message):
    __slots__ = ("a", "b", "rule", "is_active", "inactive_reason", "score", "sources", "first_seen", "last_seen", "event_ids", "comparison", "event_count")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    INACTIVE_REASON_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    a: Identifier
    b: Identifier
    rule: str
    is_active: bool
    inactive_reason: str
    score: float
    sources: _containers.RepeatedScalarFieldContainer[str]
    first_seen: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    comparison: MatchScore
    event_count: int
    def __init__(self, a: _Optional[_Union[Identifier, _Mapping]] = ..., b: _Optional[_Union[Identifier, _Mapping]] = ..., rule: _Optional[str] = ..., is_active: _Optional[bool] = ..., inactive_reason: _Optional[str] = ..., score: _Optional[float] = ..., sources: _Optional[_Iterable[str]] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_ids: _Optional[_Iterable[str]] = ..., comparison: _Optional[_Union[MatchScore, _Mapping]] = ..., event_count: _Optional[int] = ...) -> None: ...

class MatchScore(_message.Message):
    __slots__ = ("fields", "weight", "probability", "decision", "vetoed_by")
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    VETOED_BY_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.RepeatedCompositeFieldContainer[FieldComparison]
    weight: float
    probability: float
    decision: str
    vetoed_by: str
    def __init__(self, fields: _Optional[_Iterable[_Union[FieldComparison, _Mapping]]] = ..., weight: _Optional[float] = ..., probability: _Optional[float] = ..., decision: _Optional[str] = ..., vetoed_by: _Optional[str] = ...) -> None: ...

class FieldComparison(_message.Message):
    __slots__ = ("field", "left", "right", "level", "weight", "bucket")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    LEFT_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    field: str
    left: str
    right: str
    level: str
    weight: float
    bucket: str
    def __init__(self, field: _Optional[str] = ..., left: _Optional[str] = ..., right: _Optional[str] = ..., level: _Optional[str] = ..., weight: _Optional[float] = ..., bucket: _Optional[str] = ...) -> None: ...

class StewardAction(_message.Message):
    __slots__ = ("action_id", "profile_ids", "changes")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    profile_ids: _containers.RepeatedScalarFieldContainer[str]
    changes: _containers.RepeatedCompositeFieldContainer[ProfileChange]
    def __init__(self, action_id: _Optional[str] = ..., profile_ids: _Optional[_Iterable[str]] = ..., changes: _Optional[_Iterable[_Union[ProfileChange, _Mapping]]] = ...) -> None: ...

class MergeRequest(_message.Message):
    __slots__ = ("profile_ids", "actor", "reason", "override_limits")
    PROFILE_IDS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    profile_ids: _containers.RepeatedScalarFieldContainer[str]
    actor: str
    reason: str
    override_limits: bool
    def __init__(self, profile_ids: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., override_limits: _Optional[bool] = ...) -> None: ...

class MergeResponse(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: StewardAction
    def __init__(self, action: _Optional[_Union[StewardAction, _Mapping]] = ...) -> None: ...

class IdentifierGroup(_message.Message):
    __slots__ = ("identifiers",)
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    identifiers: _containers.RepeatedCompositeFieldContainer[Identifier]
    def __init__(self, identifiers: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ...) -> None: ...

class SplitRequest(_message.Message):
    __slots__ = ("profile_id", "sides", "actor", "reason", "preview")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    SIDES_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    sides: _containers.RepeatedCompositeFieldContainer[IdentifierGroup]
    actor: str
    reason: str
    preview: bool
    def __init__(self, profile_id: _Optional[str] = ..., sides: _Optional[_Iterable[_Union[IdentifierGroup, _Mapping]]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., preview: _Optional[bool] = ...) -> None: ...

class SplitPart(_message.Message):
    __slots__ = ("profile_id", "identifiers")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    identifiers: _containers.RepeatedCompositeFieldContainer[Identifier]
    def __init__(self, profile_id: _Optional[str] = ..., identifiers: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ...) -> None: ...

class SplitResponse(_message.Message):
    __slots__ = ("action", "cut", "parts")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CUT_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    action: StewardAction
    cut: _containers.RepeatedCompositeFieldContainer[Link]
    parts: _containers.RepeatedCompositeFieldContainer[SplitPart]
    def __init__(self, action: _Optional[_Union[StewardAction, _Mapping]] = ..., cut: _Optional[_Iterable[_Union[Link, _Mapping]]] = ..., parts: _Optional[_Iterable[_Union[SplitPart, _Mapping]]] = ...) -> None: ...

class UnlinkRequest(_message.Message):
    __slots__ = ("a", "b", "actor", "reason")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    a: Identifier
    b: Identifier
    actor: str
    reason: str
    def __init__(self, a: _Optional[_Union[Identifier, _Mapping]] = ..., b: _Optional[_Union[Identifier, _Mapping]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnlinkResponse(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: StewardAction
    def __init__(self, action: _Optional[_Union[StewardAction, _Mapping]] = ...) -> None: ...

class UndoRequest(_message.Message):
    __slots__ = ("action_id", "actor", "reason")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    actor: str
    reason: str
    def __init__(self, action_id: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UndoResponse(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: StewardAction
    def __init__(self, action: _Optional[_Union[StewardAction, _Mapping]] = ...) -> None: ...

class DecideReviewRequest(_message.Message):
    __slots__ = ("a", "b", "decision", "actor", "reason", "override_limits")
    class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        DECISION_UNSPECIFIED: _ClassVar[DecideReviewRequest.Decision]
        DECISION_ACCEPT: _ClassVar[DecideReviewRequest.Decision]
        DECISION_REJECT: _ClassVar[DecideReviewRequest.Decision]
    DECISION_UNSPECIFIED: DecideReviewRequest.Decision
    DECISION_ACCEPT: DecideReviewRequest.Decision
    DECISION_REJECT: DecideReviewRequest.Decision
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    a: Identifier
    b: Identifier
    decision: DecideReviewRequest.Decision
    actor: str
    reason: str
    override_limits: bool
    def __init__(self, a: _Optional[_Union[Identifier, _Mapping]] = ..., b: _Optional[_Union[Identifier, _Mapping]] = ..., decision: _Optional[_Union[DecideReviewRequest.Decision, str]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., override_limits: _Optional[bool] = ...) -> None: ...

class DecideReviewResponse(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: StewardAction
    def __init__(self, action: _Optional[_Union[StewardAction, _Mapping]] = ...) -> None: ...

class EraseProfileRequest(_message.Message):
    __slots__ = ("profile_id", "reason")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    reason: str
    def __init__(self, profile_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class EraseProfileResponse(_message.Message):
    __slots__ = ("action_id", "profile_id", "erased_ids", "identifiers", "rows")
    class RowsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    ERASED_IDS_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    profile_id: str
    erased_ids: _containers.RepeatedScalarFieldContainer[str]
    identifiers: int
    rows: _containers.ScalarMap[str, int]
    def __init__(self, action_id: _Optional[str] = ..., profile_id: _Optional[str] = ..., erased_ids: _Optional[_Iterable[str]] = ..., identifiers: _Optional[int] = ..., rows: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ExportProfileRequest(_message.Message):
    __slots__ = ("profile_id",)
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    def __init__(self, profile_id: _Optional[str] = ...) -> None: ...

class ExportProfileResponse(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: str
    def __init__(self, document: _Optional[str] = ...) -> None: ...
