"""The server-wide budget of result bytes in flight: takers wait their turn, nothing leaks."""

import asyncio

import pytest

from mcp_box_server.runtime import result_budget
from mcp_box_server.runtime.result_budget import Lease, ResultBudget


async def test_a_taker_waits_until_room_is_given_back():
    budget = ResultBudget(100)
    first = await budget.take(60)
    second = asyncio.create_task(budget.take(60))
    await asyncio.sleep(0.01)
    assert not second.done() and budget.held == 60
    budget.give(first)
    assert await asyncio.wait_for(second, 1) == 60
    assert budget.held == 60


async def test_takers_are_served_in_turn_and_never_past_the_limit():
    budget = ResultBudget(100)
    held = await budget.take(90)
    big = asyncio.create_task(budget.take(80))
    await asyncio.sleep(0.01)
    small = asyncio.create_task(budget.take(10))  # would fit now, but waits behind `big`
    await asyncio.sleep(0.01)
    assert not big.done() and not small.done()
    budget.give(held)
    await asyncio.wait_for(asyncio.gather(big, small), 1)
    assert budget.held == 90


async def test_more_than_the_whole_budget_takes_the_whole_budget():
    budget = ResultBudget(100)
    assert await budget.take(500) == 100
    assert budget.held == 100


async def test_a_cancelled_taker_leaves_nothing_held_and_lets_the_next_one_in():
    budget = ResultBudget(100)
    held = await budget.take(50)
    blocked = asyncio.create_task(budget.take(80))
    await asyncio.sleep(0.01)
    after = asyncio.create_task(budget.take(40))
    await asyncio.sleep(0.01)
    blocked.cancel()
    assert await asyncio.wait_for(after, 1) == 40  # no longer behind the cancelled one
    with pytest.raises(asyncio.CancelledError):
        await blocked
    budget.give(held)
    budget.give(40)
    assert budget.held == 0


async def test_a_lease_gives_back_all_it_holds():
    budget = ResultBudget(100)
    lease = Lease(budget)
    await lease.take(30)
    await lease.take(30)
    lease.give(10)
    assert budget.held == 50
    lease.close()
    assert budget.held == 0 and lease.held == 0


async def test_reserve_and_settle_use_the_block_s_lease():
    budget = ResultBudget(100)
    assert await result_budget.reserve(64) == 0  # no lease: no budget
    with result_budget.holding(budget):
        reserved = await result_budget.reserve(64)
        result_budget.settle(reserved, 5)  # the frame was 5 bytes
        assert budget.held == 5
    assert budget.held == 0  # the block's own lease is given back at its end


async def test_a_call_passes_what_it_holds_to_its_request():
    budget = ResultBudget(100)
    request = Lease(budget)
    with result_budget.leased(request):
        with result_budget.holding(budget):  # a call inside an HTTP request
            await result_budget.reserve(40)
        assert budget.held == 40 and request.held == 40  # held until the response is written
    request.close()
    assert budget.held == 0


async def test_a_call_that_outlives_its_request_keeps_its_room_until_it_ends():
    budget = ResultBudget(100)
    request = Lease(budget)
    with result_budget.leased(request):
        with result_budget.holding(budget):  # a call run as a background task
            request.close()  # the request that started it is answered
            await result_budget.reserve(40)  # still counted
            assert budget.held == 40
        assert budget.held == 0


async def test_a_closed_enclosing_lease_is_not_taken_from():
    budget = ResultBudget(100)
    request = Lease(budget)
    with result_budget.leased(request):
        request.close()  # its response is written; a task it started goes on
        with result_budget.holding(budget):
            await result_budget.reserve(40)
            assert request.held == 0 and budget.held == 40
    assert budget.held == 0


async def test_a_lease_never_waits_on_what_it_holds_itself():
    budget = ResultBudget(100)
    request = Lease(budget)
    await request.take(90)  # a program's first big tool result, held until the response
    await asyncio.wait_for(request.take(90), 1)  # its second: no wait on itself
    call = Lease(budget, request)
    await asyncio.wait_for(call.take(90), 1)  # nor does a call of that request
    call.close()
    assert budget.held == request.held == 270
    other = asyncio.create_task(budget.take(50))
    await asyncio.sleep(0.01)
    assert not other.done()  # others wait until it is all given back
    request.close()
    assert await asyncio.wait_for(other, 1) == 50


def test_a_budget_needs_a_positive_size():
    with pytest.raises(ValueError, match="positive"):
        ResultBudget(0)
