"""Output streams: a store to a stream's port (specs/board/virt/board.py, STREAMS: the UART's
data register) appends its byte to the stream a contract reads as `view.stream("console")`;
what a function prints is proved, and a wrong digit is a counterexample the replay shows."""

from conftest import copy_tree
from test_switch_proofs import prove_planted
from verify.check import prove_one
from verify.cli import main
from verify.heap import HeapInvariant
from verify.program import Program
from verify.spec import AAPCS64_SCRATCH, Contract, contracts_for, heap_links


def test_a_wrong_digit_in_a_printed_number_is_caught_and_replayed(tmp_path):
    # uart_put_dec adds '1' instead of '0' to each digit
    result = prove_planted(tmp_path, "asm/uart.s", "    add     w0, w0, #ASCII_ZERO\n",
                           "    add     w0, w0, #(ASCII_ZERO + 1)\n", "uart_put_dec")
    assert result.verdict == "FAILED"
    assert result.counterexample.replay_status == "confirmed"


def test_a_hex_number_printed_with_a_digit_too_few_is_caught(tmp_path):
    # uart_put_hex stops a nibble early: 15 digits
    result = prove_planted(tmp_path, "asm/uart.s", "    b.ge    .Luart_put_hex_loop\n",
                           "    b.gt    .Luart_put_hex_loop\n", "uart_put_hex")
    assert result.verdict == "FAILED"
    assert "postcondition" in result.counterexample.sentence


def test_printing_is_a_change_the_contract_must_allow(tmp_path):
    # uart_newline without the console in its MAYCHANGE: its line feed is a change not allowed
    root = copy_tree(tmp_path)
    assert main(["--root", str(root), "build"]) == 0
    program = Program(root / "build" / "actly.elf", root)
    contracts = contracts_for(program, root)
    uart = next(r for r in contracts["uart_newline"].maychange if not isinstance(r, str))
    contracts["uart_newline"] = Contract("prints nothing (wrong)",
                                         maychange=AAPCS64_SCRATCH + (uart,))
    result = prove_one(program, "uart_newline", contracts, 60,
                       HeapInvariant(program, heap_links(root)))
    assert result.verdict == "FAILED"
    assert "it sends to console" in result.counterexample.sentence


# ---- the firmware stream: each HVC or SMC appends its conduit, immediate and x0-x3 ----

def test_a_firmware_call_through_the_wrong_conduit_is_caught_and_replayed(tmp_path):
    # psci_call takes SMC for the HVC conduit and HVC for the SMC one
    result = prove_planted(tmp_path, "asm/boot.s", "    b.eq    .Lpsci_call_smc\n",
                           "    b.ne    .Lpsci_call_smc\n", "psci_call")
    assert result.verdict == "FAILED"
    assert result.counterexample.replay_status == "confirmed"


def test_a_core_started_with_the_wrong_context_id_is_caught_through_a_callee_contract(tmp_path):
    # boot_start_secondaries passes the target's Aff0, not the core index, as the context id.
    # The violation rests on psci_call's contract (what the firmware answers), and holds
    # whatever that contract allows: a counterexample, not a possible violation.
    result = prove_planted(tmp_path, "asm/boot.s", "    mov     x3, x20                         "
                           "/* context id = its core index */\n",
                           "    mov     x3, x19\n", "boot_start_secondaries")
    assert result.verdict == "FAILED"
    assert not result.reasons


def test_calling_the_firmware_is_a_change_the_contract_must_allow(tmp_path):
    root = copy_tree(tmp_path)
    assert main(["--root", str(root), "build"]) == 0
    program = Program(root / "build" / "actly.elf", root)
    contracts = contracts_for(program, root)
    contracts["psci_call"] = Contract("calls nothing (wrong)", maychange=AAPCS64_SCRATCH)
    result = prove_one(program, "psci_call", contracts, 60,
                       HeapInvariant(program, heap_links(root)))
    assert result.verdict == "FAILED"
    assert "it calls the firmware" in result.counterexample.sentence


# ---- a device register's writes, in order (STREAMS: Register) ----

def test_enabling_the_gic_groups_before_its_routing_is_caught_and_replayed(tmp_path):
    # board_gic_init writes GICD_CTLR's final value at once: the groups come on with the
    # routing, which GICv3 requires to be set alone first
    result = prove_planted(tmp_path, "asm/board/virt/board.s",
                           "    mov     w1, #GICD_CTLR_ARE\n",
                           "    mov     w1, #(GICD_CTLR_ARE | GICD_CTLR_ENABLE_GRP0 | "
                           "GICD_CTLR_ENABLE_GRP1)\n", "board_gic_init")
    assert result.verdict == "FAILED"
    assert result.counterexample.replay_status == "confirmed"
