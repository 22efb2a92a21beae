/// `shard: {"tenants": [...]}`: the tenants of a shared config this instance serves
/// (SPEC §5). Every id must be a configured tenant, so a typo never silently drops one.
extension UsersyncConfig {
    static func parseShard(_ top: Fields, tenantIDs: Set<String>) -> [String]? {
        guard let shard = top.object("shard") else { return nil }
        defer { shard.finish() }
        guard let ids = shard.strings("tenants") else {
            if !shard.has("tenants") { shard.fail("tenants", "is required (the tenant ids this instance serves)") }
            return nil
        }
        for id in ids where !tenantIDs.contains(id) { shard.fail("tenants", "'\(id)' is not a configured tenant") }
        var seen: Set<String> = []
        return ids.filter { seen.insert($0).inserted }
    }

    /// The tenants this instance serves: `only` (`serve --tenants`) wins over `shard`;
    /// neither means every configured tenant.
    public func servedTenants(only: [String]? = nil) -> [TenantConfig] {
        guard let ids = only ?? shard else { return tenants }
        let chosen = Set(ids)
        return tenants.filter { chosen.contains($0.id) }
    }

    /// Ids in `ids` that name no configured tenant.
    public func unknownTenants(_ ids: [String]) -> [String] {
        ids.filter { tenant($0) == nil }
    }
}
