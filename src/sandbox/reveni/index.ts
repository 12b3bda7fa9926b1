export { reveniSimulator, REVENI_DELIVERY_ATTEMPTS, type ReveniSimulator, type DeliveryRecord } from './simulator';
export {
  ReveniStore,
  ReveniError,
  REVENI_STATUSES,
  REVENI_REJECT_REASONS,
  type ReveniStatus,
  type SimReveniReturn,
  type ReveniEvent,
} from './store';
