"""A representative set of the roles' network tests, run again on an ejabberd lab in every run.

The whole suite runs on ejabberd with ``XIOTLAB_ENGINE=ejabberd``; this module keeps ejabberd
honest in the normal run too: friendship (unfriending included, which ejabberd answers with an
extra unavailable presence), readouts (one too large for one message), events, control, and the
lab's services (the registry and provisioning, as XEP-0114 components on ejabberd).

The tests are those of their own modules, imported: here the ``lab`` they use is this module's.
"""

from __future__ import annotations

import pytest

from xiotlab import LabServer

from . import (
    test_controls,
    test_friendship,
    test_readout_silence,
    test_registry_wire,
    test_sensors,
    test_staying_up,
    test_unfriend_goodbye,
)

# The fixtures the chosen tests use, then the tests: collected here, they use this module's `lab`.
lamp, household, slow, alice, fresh, pair, meter = (
    test_controls.lamp,
    test_friendship.household,
    test_readout_silence.slow,
    test_registry_wire.alice,
    test_registry_wire.fresh,
    test_sensors.pair,
    test_staying_up.meter,
)
test_a_strangers_request_goes_to_the_owner_who_approves = (
    test_friendship.test_a_strangers_request_goes_to_the_owner_who_approves
)
test_a_rejected_request_raises_rejected = test_friendship.test_a_rejected_request_raises_rejected
test_unfriend_from_either_side = test_friendship.test_unfriend_from_either_side
test_presence_and_status_reach_friends = test_friendship.test_presence_and_status_reach_friends
test_a_goodbye_after_unfriending_does_not_bring_the_contact_back = (
    test_unfriend_goodbye.test_a_goodbye_after_unfriending_does_not_bring_the_contact_back
)
test_readout_values_units_and_timestamps = test_sensors.test_readout_values_units_and_timestamps
test_reading_needs_friendship_and_presence = test_sensors.test_reading_needs_friendship_and_presence
test_a_readout_too_large_for_one_message_arrives_in_fragments = (
    test_sensors.test_a_readout_too_large_for_one_message_arrives_in_fragments
)
test_subscription_delivers_reports_in_order = test_sensors.test_subscription_delivers_reports_in_order
test_a_readout_that_keeps_coming_outlasts_its_timeout = (
    test_readout_silence.test_a_readout_that_keeps_coming_outlasts_its_timeout
)
test_a_readout_that_goes_silent_times_out = test_readout_silence.test_a_readout_that_goes_silent_times_out
test_set_reaches_the_handlers_typed_and_in_order = test_controls.test_set_reaches_the_handlers_typed_and_in_order
test_only_the_owner_controls_unless_it_allowed_a_friend = (
    test_controls.test_only_the_owner_controls_unless_it_allowed_a_friend
)
test_a_thing_registers_and_its_owner_claims_it = test_registry_wire.test_a_thing_registers_and_its_owner_claims_it
test_a_wrong_key_claims_nothing = test_registry_wire.test_a_wrong_key_claims_nothing
test_a_dropped_connection_resumes_its_session_and_loses_nothing = (
    test_staying_up.test_a_dropped_connection_resumes_its_session_and_loses_nothing
)


@pytest.fixture(scope="module")
def lab():
    """This module's lab: on ejabberd, whatever engine the session's runs on."""
    with LabServer(engine="ejabberd") as server:
        yield server


def test_this_module_runs_on_ejabberd(lab):
    assert lab.engine == "ejabberd" and lab.node_pids()
