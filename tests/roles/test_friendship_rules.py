"""Pure rules of friendship: policies of ownerless things and rule ranges."""

import pytest

from xiotlab import RuleRange
from xiotlab.roles.friendship import policy_check, rule_range


def test_policies():
    assert policy_check("accept")("anyone@any.where")
    assert not policy_check("deny")("anyone@any.where")
    allowed = policy_check(["Alice@Lab.test", "school.example"])
    assert allowed("alice@lab.test") and allowed("pupil@school.example")
    assert not allowed("bob@lab.test") and not allowed("eve@school.example.evil")


@pytest.mark.parametrize("bad", ["maybe", 3, None])
def test_bad_policy(bad):
    with pytest.raises(ValueError, match="policy="):
        policy_check(bad)


def test_rule_ranges_by_name():
    assert rule_range("domain") is RuleRange.DOMAIN and rule_range(RuleRange.ALL) is RuleRange.ALL
    with pytest.raises(ValueError, match="Caller"):
        rule_range("planet")
