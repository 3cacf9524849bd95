// Micro-benchmarks of the host's data path pieces, on the real ring.h and
// host-module/validate.c: ring round trips, descriptor and handshake
// checks, and the payload copy.  Times only: no assertions (see
// callgrind.sh for instruction counts that compare across machines).
#include <cstdlib>
#include <cstring>
#include <memory>

#include <benchmark/benchmark.h>

#include "workload.hpp"

namespace {

using benchmark::Counter;

// Reported per descriptor as well as per iteration.
void per_desc(benchmark::State &state, int64_t descs)
{
	state.SetItemsProcessed(descs);
	// kIsRate | kInvert: seconds per descriptor, printed as e.g. "12.3ns".
	state.counters["per_desc"] =
		Counter(static_cast<double>(descs), Counter::kIsRate | Counter::kInvert);
}

// Guest batch of arg(1) SENDs in, host flush out, arg(0)-entry ring; the
// indices start near the u32 wrap and run across it.
void BM_RingProduceConsume(benchmark::State &state)
{
	const auto entries = static_cast<uint32_t>(state.range(0));
	const auto batch = static_cast<uint32_t>(state.range(1));
	virtbench::RingPair ring(entries);
	const auto descs = virtbench::send_batch(batch);
	int64_t moved = 0;

	for (auto _ : state) {
		int n = ring.round_trip(descs.data(), batch);
		benchmark::DoNotOptimize(n);
		moved += n;
	}
	if (moved != static_cast<int64_t>(state.iterations()) * batch)
		state.SkipWithError("ring model lost descriptors");
	per_desc(state, moved);
}
BENCHMARK(BM_RingProduceConsume)
	->ArgNames({"entries", "batch"})
	->Args({16, 1})->Args({16, 16})->Args({256, 64})->Args({256, 256})
	->Args({4096, 4096});

// The index arithmetic flush.c does per flush and per run.
void BM_RingIndex(benchmark::State &state)
{
	uint32_t cons = 0xfffffff0u, acc = 0;
	for (auto _ : state) {
		int n = virt_ring_pending(cons + 13, cons, 256);
		acc += virt_ring_run(cons, static_cast<uint32_t>(n), 256) +
		       virt_ring_slot(cons, 256);
		benchmark::DoNotOptimize(acc);
		cons += 7;
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RingIndex);

// One virt_desc_check() per iteration over the 64-descriptor mix.
void BM_DescCheck(benchmark::State &state)
{
	const auto mix = virtbench::desc_mix();
	size_t i = 0;
	for (auto _ : state) {
		int r = virt_desc_check(&mix[i++ & 63]);
		benchmark::DoNotOptimize(r);
	}
	per_desc(state, static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DescCheck);

void BM_HelloCheck(benchmark::State &state)
{
	virt_hello h = virtbench::valid_hello();
	for (auto _ : state) {
		benchmark::DoNotOptimize(&h);
		int r = virt_hello_check(&h);
		benchmark::DoNotOptimize(r);
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HelloCheck);

// A SEND's payload from "guest memory" into an skb-sized host buffer, as
// virt_tx_send() does: check the descriptor, bounds-check against guest
// RAM (kvm_vcpu_read_guest's job), copy.  The source walks an 8 MiB guest
// buffer so large sizes are not served from L1 every time.
void BM_CopyLoop(benchmark::State &state)
{
	const auto len = static_cast<uint32_t>(state.range(0));
	const size_t guest_size = 8u << 20;
	std::unique_ptr<uint8_t[]> guest(new uint8_t[guest_size]);
	std::unique_ptr<uint8_t[]> skb(new uint8_t[VIRT_MAX_SEND]);
	std::memset(guest.get(), 0x5a, guest_size);
	virt_desc d{};
	d.op = VIRT_OP_SEND;
	d.conn = 1;
	d.len = len;
	uint64_t off = 0;

	for (auto _ : state) {
		d.addr = off;
		if (virt_desc_check(&d) || d.addr + d.len > guest_size) {
			state.SkipWithError("descriptor refused");
			break;
		}
		std::memcpy(skb.get(), guest.get() + d.addr, d.len);
		benchmark::ClobberMemory();
		off = (off + len + 4096) % (guest_size - VIRT_MAX_SEND);
	}
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * len);
	per_desc(state, static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CopyLoop)->ArgName("bytes")->RangeMultiplier(4)->Range(64, 65536);

} // namespace

BENCHMARK_MAIN();
