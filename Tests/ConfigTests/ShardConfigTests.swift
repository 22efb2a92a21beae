import Config
import Foundation
import Testing

/// `shard.tenants` (SPEC §3, §5): which tenants of a shared config this instance serves.
extension ConfigTests {
    @Test func shardPicksTheServedTenantsAndTheFlagWins() throws {
        let all = try load { _, _, _ in }.get()
        #expect(all.shard == nil && all.servedTenants().map(\.id) == ["abc-energy"])
        let sharded = try load { root, _, _ in root["shard"] = ["tenants": ["abc-energy", "abc-energy"]] }.get()
        #expect(sharded.shard == ["abc-energy"])
        let empty = try load { root, _, _ in root["shard"] = ["tenants": [String]()] }.get()
        #expect(empty.servedTenants().isEmpty)
        #expect(empty.servedTenants(only: ["abc-energy"]).map(\.id) == ["abc-energy"], "the flag wins")
        #expect(empty.unknownTenants(["abc-energy", "nope"]) == ["nope"])
    }

    @Test func shardErrorsNameTheirPath() {
        #expect(problems { root, _, _ in root["shard"] = ["tenants": ["abc-energy", "nope"]] }
            == ["shard.tenants: 'nope' is not a configured tenant"])
        #expect(problems { root, _, _ in root["shard"] = [String: Any]() }
            == ["shard.tenants: is required (the tenant ids this instance serves)"])
        #expect(problems { root, _, _ in root["shard"] = ["tenants": "abc-energy"] } == ["shard.tenants: must be a list of strings"])
        #expect(problems { root, _, _ in root["shard"] = ["abc-energy"] } == ["shard: must be an object"])
    }
}
