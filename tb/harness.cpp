// Streaming Verilator harness for fpforge units (long runs: millions to billions of vectors).
//
// Reads blocks from stdin: a uint64 count n, then for each input port (in the order the
// generated header lists) n little-endian values of that port's byte width, then n expected
// outputs.  Applies them one per evaluation (combinational) or one per clock cycle
// (pipelined: in_valid held high, out_valid checked LATENCY cycles later), compares y, and
// at end of input prints one JSON line: {"tried": N, "passed": N, "mismatches": [...]}.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "verilated.h"
#include "harness_ports.h"  // TOP_CLASS, LATENCY, N_INPUTS, IN_BYTES, Y_BYTES, set_input()

static bool read_all(void* dst, size_t bytes) {
    return fread(dst, 1, bytes, stdin) == bytes;
}

static uint64_t load(const uint8_t* p, int bytes) {
    uint64_t v = 0;
    memcpy(&v, p, bytes);  // little-endian host
    return v;
}

int main(int argc, char** argv) {
    VerilatedContext ctx;
    ctx.commandArgs(argc, argv);
    TOP_CLASS dut{&ctx};
    uint64_t tried = 0, passed = 0;
    std::string mismatches;
    int reported = 0;
    const int in_bytes[N_INPUTS] = IN_BYTES;
    std::vector<std::vector<uint8_t>> cols(N_INPUTS);
    std::vector<uint8_t> want;
    // expected values still in flight through the pipeline (ring of LATENCY + 1)
    std::vector<uint64_t> pending(LATENCY + 1);
    uint64_t global = 0;

#if LATENCY > 0
    dut.clk = 0; dut.rst = 1; dut.in_valid = 0; dut.eval();
    for (int i = 0; i < LATENCY + 2; ++i) { dut.clk = 1; dut.eval(); dut.clk = 0; dut.eval(); }
    dut.rst = 0;
#endif

    auto check = [&](uint64_t got, uint64_t expect, uint64_t index, const char* what) {
        ++tried;
        if (got == expect) { ++passed; return; }
        if (reported++ < 20) {
            char buf[160];
            snprintf(buf, sizeof buf, "%s{\"index\": %llu, \"got\": \"0x%llx\", \"want\": \"0x%llx\"%s}",
                     mismatches.empty() ? "" : ", ", (unsigned long long)index,
                     (unsigned long long)got, (unsigned long long)expect, what);
            mismatches += buf;
        }
    };

    uint64_t n;
    while (read_all(&n, sizeof n)) {
        for (int k = 0; k < N_INPUTS; ++k) {
            cols[k].resize(n * in_bytes[k]);
            if (!read_all(cols[k].data(), cols[k].size())) return 3;
        }
        want.resize(n * Y_BYTES);
        if (!read_all(want.data(), want.size())) return 3;
        for (uint64_t i = 0; i < n; ++i, ++global) {
            for (int k = 0; k < N_INPUTS; ++k)
                set_input(dut, k, load(cols[k].data() + i * in_bytes[k], in_bytes[k]));
            uint64_t expect = load(want.data() + i * Y_BYTES, Y_BYTES);
#if LATENCY == 0
            dut.eval();
            check(dut.y, expect, global, "");
#else
            dut.in_valid = 1;
            dut.clk = 1; dut.eval();   // vector `global` enters the pipeline
            pending[global % (LATENCY + 1)] = expect;
            if (global + 1 >= LATENCY) {  // the vector LATENCY-1 edges back is due now
                uint64_t src = global + 1 - LATENCY;
                if (!dut.out_valid) check(1, 0, src, ", \"error\": \"out_valid low\"");
                else check(dut.y, pending[src % (LATENCY + 1)], src, "");
            }
            dut.clk = 0; dut.eval();
#endif
        }
    }
#if LATENCY > 0
    // drain: LATENCY - 1 more edges with in_valid low; edge k makes vector k+1-LATENCY due
    dut.in_valid = 0;
    for (uint64_t k = global; k < global + LATENCY - 1; ++k) {
        dut.clk = 1; dut.eval();
        if (k + 1 >= LATENCY) {
            uint64_t src = k + 1 - LATENCY;
            if (!dut.out_valid) check(1, 0, src, ", \"error\": \"out_valid low\"");
            else check(dut.y, pending[src % (LATENCY + 1)], src, "");
        }
        dut.clk = 0; dut.eval();
    }
#endif
    printf("{\"tried\": %llu, \"passed\": %llu, \"mismatches\": [%s]}\n",
           (unsigned long long)tried, (unsigned long long)passed, mismatches.c_str());
    return 0;
}
