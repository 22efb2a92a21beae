import Config
import Desks
import Foundation
import Testing

/// `admin_listen` is parsed like `listen`, and absent unless given.
@Suite struct AdminListenTests {
    func load(_ extra: String) throws -> UsersyncConfig {
        let text = #"{"listen": "127.0.0.1:8080", \#(extra) "tenants": [{"id": "t", "licence_limit": 1}]}"#
        return try UsersyncConfig.parse(Data(text.utf8), desks: DeskRegistry.all)
    }

    @Test func adminListenIsOptionalAndValidated() throws {
        #expect(try load("").adminListen == nil)
        let c = try load(#""admin_listen": "127.0.0.1:9090","#)
        #expect(c.adminListen?.host == "127.0.0.1" && c.adminListen?.port == 9090)
        #expect(c.warnings.isEmpty)
        #expect(throws: ConfigError.self) { try load(#""admin_listen": "nowhere","#) }
        do {
            _ = try load(#""admin_listen": "127.0.0.1:99999","#)
        } catch let e as ConfigError {
            #expect(e.problems.contains { $0.hasPrefix("admin_listen:") })
        }
    }

    /// What the receiver cannot bind is refused by the config, not found at `serve`.
    @Test func listenTakesOnlyWhatTheReceiverCanBind() throws {
        func problems(_ top: String) -> [String] {
            let text = #"{\#(top) "tenants": [{"id": "t", "licence_limit": 1}]}"#
            do { _ = try UsersyncConfig.parse(Data(text.utf8), desks: DeskRegistry.all) } catch let e as ConfigError {
                return e.problems
            } catch {}
            return []
        }
        #expect(problems(#""listen": "[::1]:8080","#).contains { $0.hasPrefix("listen:") })
        #expect(problems(#""listen": "myhost.invalid:8080","#).contains { $0.hasPrefix("listen:") })
        #expect(problems(#""listen": "127.0.0.1:+80","#).contains { $0.hasPrefix("listen:") })
        #expect(problems(#""listen": "localhost:8080", "admin_listen": ":9090","#).isEmpty)
        #expect(problems(#""listen": "127.0.0.1:8080", "admin_listen": "127.0.0.1:8080","#).contains { $0.hasPrefix("admin_listen:") })
        #expect(problems(#""listen": "0.0.0.0:8080", "admin_listen": "localhost:8080","#).contains { $0.hasPrefix("admin_listen:") })
        #expect(problems(#""listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0","#).isEmpty)
    }
}
